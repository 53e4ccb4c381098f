import { describe, it, expect, afterEach } from 'vitest';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { ADMIN_ON_LOOPBACK, scrape, value } from './helpers/admin.js';

describe('/metrics counts route() errors and budget aborts', () => {
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
  });

  it('counts a Lua error as LPX_ROUTE_ERROR and a runaway loop as LPX_ROUTE_BUDGET', async () => {
    p = await startProxy(ADMIN_ON_LOOPBACK + `
script = { instructions = 20000 }
function route(h, p)
  if p == "/boom" then error("boom") end
  if p == "/loop" then while true do end end
  return { status = 200, body = "ok" }
end
`);
    const before = await scrape(p);
    for (let i = 0; i < 2; i++) expect((await get(p.url + '/boom', { host: 'e.example.com' })).status).toBe(500);
    for (let i = 0; i < 3; i++) expect((await get(p.url + '/loop', { host: 'e.example.com' })).status).toBe(500);
    expect((await get(p.url + '/', { host: 'e.example.com' })).status).toBe(200);
    const after = await scrape(p);
    const delta = (labels: Record<string, string>) => value(after, 'luaproxy_script_errors_total', labels) - value(before, 'luaproxy_script_errors_total', labels);
    expect(delta({ code: 'LPX_ROUTE_ERROR' })).toBe(2);
    expect(delta({ code: 'LPX_ROUTE_BUDGET' })).toBe(3);
    expect(value(after, 'luaproxy_requests_total', { backend: '(none)', status: '5xx' }) - value(before, 'luaproxy_requests_total', { backend: '(none)', status: '5xx' })).toBe(5);
  });
});
