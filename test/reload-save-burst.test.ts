import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask, attempts, waitFor, sleep } from './helpers/reload.js';

describe('a burst of saves', () => {
  let a: TestBackend, b: TestBackend, c: TestBackend, p: TestProxy, list: string;
  afterEach(async () => { await p?.close(); await Promise.all([a, b, c].map((x) => x?.close())); });
  const setup = async (script: string) => {
    [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
    list = luaBackends([a, b, c]);
    p = await startProxy(list + script, { watch: true });
  };

  it('coalesces a burst of saves into one reload of the last one', async () => {
    await setup('function route(h, p) return "a" end');
    for (const name of ['b', 'a', 'c', 'b', 'c']) {
      p.write(list + `function route(h, p) return "${name}" end`);
      await sleep(20);
    }
    await waitFor(() => attempts(p) === 1, 3000, 'the reload after the burst');
    await sleep(400); // a second reload would have come by now
    expect(attempts(p)).toBe(1);
    expect((await ask(p.port)).backend).toBe('c');
  });
});
