import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { waitFor, connectionsOf } from './helpers/reload.js';
import { Upstreams, type UpConn } from '../src/proxy/upstreams.js';
import { defaults, type Settings } from '../src/config/defaults.js';

// A retry of a request routed before a reload may go to a backend the reload removed:
// it is served, but its pool must not stay behind.
describe('a request of an older config to a backend the live config dropped', () => {
  let a: TestBackend, b: TestBackend, up: Upstreams;
  afterEach(async () => { await up?.closeAll(true); await Promise.all([a, b].map((x) => x?.close())); });

  it('is served on a pool of its own that closes when the request is done', async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    const s = structuredClone(defaults) as unknown as Settings;
    s.timeouts.backend_idle = 60;
    up = new Upstreams();
    up.get({ origin: a.url }, s);
    up.get({ origin: b.url }, s);
    up.retain([{ origin: a.url }], s); // b was removed by a reload

    const late = up.get({ origin: b.url }, s);
    const conn = await new Promise<UpConn>((resolve, reject) => late.acquire({ acquired: (err, c) => (err ? reject(err) : resolve(c!)) }));
    const text = await new Promise<string>((resolve) => {
      let got = '';
      conn.user = {
        onUpData: (d) => { got += d.toString('latin1'); if (/\r\n\r\n[\s\S]*\}/.test(got)) resolve(got); },
        onUpEnd: () => resolve(got), onUpClose: () => resolve(got), onUpDrain: () => {},
      };
      conn.socket.write('GET / HTTP/1.1\r\nHost: b\r\n\r\n');
    });
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(JSON.parse(/\{[\s\S]*\}/.exec(text)![0]).backend).toBe('b');
    late.release(conn);
    expect(up.size).toBe(1);
    expect(late.closed).toBe(true);
    await waitFor(async () => (await connectionsOf(b.server)) === 0, 3000, 'the late pool\'s connection to close');
  });
});
