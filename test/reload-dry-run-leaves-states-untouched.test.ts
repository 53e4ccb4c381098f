import { describe, it, expect, afterEach } from 'vitest';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';
import { get } from './helpers/http.js';

// a script that counts its route() calls and answers the count on /count
const counting = (list: string, tag: string) => `${list}
calls = 0
function route(h, p)
  calls = calls + 1
  if p == "/count" then return { status = 200, body = "${tag} " .. calls } end
  return "a"
end
`;

describe("a reload's dry run and own tests run on copies", () => {
  let a: TestBackend, p: TestProxy;
  afterEach(async () => { await p?.close(); await a?.close(); });

  it('leaves the live script and the new one exactly as they were: the first request after a reload is call 1', async () => {
    a = await startBackend('a');
    const list = 'log = { access = false }\n' + luaBackends([a]);
    p = await startProxy(counting(list, 'v1'));
    for (let i = 0; i < 7; i++) await ask(p.port, { host: `h${i}.example.com` });
    const old = p.running.config;
    expect(old.script.global('calls')).toBe(7);

    // own tests too: they must not run on the state that goes live
    p.write(counting(list, 'v2') + 'tests = { { "x.example.com", "/", "a" }, { "y.example.com", "/", "a" } }\n');
    const r = await p.running.reloader.reload('test');
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.sampled).toBe(7);
    // the dry run replayed 7 requests, but not through the live script...
    expect(old.script.global('calls')).toBe(7);
    // ...nor through the script that went live
    const res = await get(`${p.url}/count`);
    expect(res.body.toString()).toBe('v2 1');
  });
});
