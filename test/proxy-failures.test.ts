import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import { startBackend, deadPort, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get, raw } from './helpers/http.js';

describe('failures map to statuses and never crash the proxy', () => {
  let a: TestBackend, p: TestProxy, dead: number;
  beforeAll(async () => {
    a = await startBackend('a');
    dead = await deadPort();
    p = await startProxy(luaBackends([a, { name: 'dead', url: `http://127.0.0.1:${dead}` }]) + `
timeouts = { header = 0.5 }
retries = { connect = 0 }
function route(host, path)
  if host == "dead.example" then return "dead" end
  if path == "/boom" then error("boom") end
  if path == "/none" then return nil end
  return "a"
end`);
  });
  afterAll(async () => { await p.close(); await a.close(); });

  it('answers 502 when the backend refuses the connection, and logs the cause once', async () => {
    const r = await get(p.url + '/', { host: 'dead.example' });
    expect(r.status).toBe(502);
    expect(r.headers['x-luaproxy-error']).toBe('LPX_UPSTREAM_REFUSED');
    expect(r.body.toString()).toMatch(/backend dead .* refused the connection/);
    const lines = p.logs.filter((l) => l.msg === 'request' && l.host === 'dead.example');
    expect(lines.at(-1)).toMatchObject({ status: 502, route: 'forward', backend: 'dead', error: 'LPX_UPSTREAM_REFUSED' });
  });

  it('answers 504 when the backend sends no headers in time', async () => {
    const t0 = Date.now();
    const r = await get(p.url + '/stall', { host: 'x' });
    expect(r.status).toBe(504);
    expect(r.headers['x-luaproxy-error']).toBe('LPX_UPSTREAM_HEADER_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('closes the client connection when the backend resets mid-body, so the truncation shows', async () => {
    const outcome = await new Promise<string>((resolve) => {
      http.get({ host: '127.0.0.1', port: p.port, path: '/reset', headers: { host: 'x' }, agent: false }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => { n += c.length; });
        res.on('end', () => resolve(`complete ${n}`));
        res.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code} after ${n}`));
        res.on('aborted', () => resolve(`aborted after ${n}`));
      }).on('error', (e) => resolve(`request error ${e.message}`));
    });
    expect(outcome).not.toMatch(/^complete/);
    // and the proxy still serves
    expect((await get(p.url + '/', { host: 'x' })).status).toBe(200);
  });

  it('answers 500 for a script error and keeps serving', async () => {
    const r = await get(p.url + '/boom', { host: 'x' });
    expect(r.status).toBe(500);
    expect(r.headers['x-luaproxy-error']).toBe('LPX_ROUTE_ERROR');
    const lines = p.logs.filter((l) => l.error === 'LPX_ROUTE_ERROR');
    expect(lines).toHaveLength(1); // logged once, as one structured line
    expect(lines[0]).toMatchObject({ msg: 'request', status: 500, level: 50, route: 'error' });
    expect(lines[0].detail).toMatch(/config\.lua:\d+: boom$/);
    expect(String(lines[0].traceback)).toMatch(/in function 'route'/);
    expect((await get(p.url + '/', { host: 'x' })).status).toBe(200);
  });

  it('answers 404 when route returns nil', async () => {
    const r = await get(p.url + '/none', { host: 'x' });
    expect(r.status).toBe(404);
    expect(r.headers['x-luaproxy-error']).toBe('LPX_ROUTE_NONE');
  });

  it('answers 400 for an invalid Host and for a malformed request, 431 for huge headers', async () => {
    expect((await raw(p.port, 'GET / HTTP/1.1\r\nHost: bad/host\r\n\r\n')).split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect((await raw(p.port, 'GARBAGE\r\n\r\n')).split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect((await raw(p.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`)).split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect((await get(p.url + '/', { host: 'x' })).status).toBe(200);
  });

  it('answers 400 for an asterisk-form target and routes an absolute-form one by its authority', async () => {
    expect((await raw(p.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    const reply = await raw(p.port, 'GET http://dead.example/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 502 Bad Gateway');
  });
});
