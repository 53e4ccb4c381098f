import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { loadProblem } from './helpers/config.js';

const problem = loadProblem;

const ROUTE = '\nfunction route(h, p) return nil end\n';

describe('loading a script names what is wrong and where', () => {
  it('reports a syntax error with file:line', () => {
    const e = problem('listen = 1\nbackends = {}\nfunction route(h, p)\n  return h..\nend\n');
    expect(e.code).toBe('LPX_CONFIG_SYNTAX');
    expect(e.message).toMatch(/^config\.lua:[45]: /);
  });

  it('reports an error raised while the file runs, with file:line', () => {
    const e = problem('backends = {}\nerror("refuse me")' + ROUTE);
    expect(e.code).toBe('LPX_CONFIG_LOAD');
    expect(e.message).toBe('config.lua:2: refuse me');
  });

  it('requires route to exist and be a function', () => {
    expect(problem('backends = {}').message).toMatch(/defines no route function/);
    const e = problem('backends = {}\nroute = 42');
    expect(e.message).toBe('config.lua:2: route must be a function, got a number');
  });

  it('rejects a backend URL that is not http://host:port, pointing at its line', () => {
    const e = problem('backends = {\n  "http://127.0.0.1:9001",\n  { name = "b", url = "localhost" },\n}' + ROUTE);
    expect(e.message).toBe('config.lua:3: backends[2].url: expected "http://host:port", got "localhost"');
  });

  it('rejects duplicate backend names', () => {
    const e = problem('backends = {\n  { name = "a", url = "http://127.0.0.1:1" },\n  { name = "a", url = "http://127.0.0.1:2" },\n}' + ROUTE);
    expect(e.message).toMatch(/^config\.lua:3: backends\[2\]: duplicate backend name "a"/);
  });

  it('suggests the right name for a misspelled setting', () => {
    const e = problem('backends = {}\ntimeouts = {\n  conect = 2,\n}' + ROUTE);
    expect(e.message).toBe('config.lua:3: timeouts.conect: unknown setting; did you mean "connect"?');
  });

  it('suggests the right name for a misspelled top-level setting', () => {
    const e = problem('backend = { "http://127.0.0.1:1" }' + ROUTE);
    expect(e.message).toBe('config.lua:1: unknown setting "backend"; did you mean "backends"?');
  });

  it('checks setting types against their defaults', () => {
    const e = problem('backends = {}\nretries = { connect = "two" }' + ROUTE);
    expect(e.message).toBe('config.lua:2: retries.connect: expected a number of 0 or more, got string "two"');
  });

  it('rejects a listen that is not a port or host:port', () => {
    expect(problem('listen = "nowhere"\nbackends = {}' + ROUTE).message).toMatch(/^config\.lua:1: listen: expected a port number or "host:port"/);
    expect(problem('listen = 70000\nbackends = {}' + ROUTE).message).toMatch(/^config\.lua:1: listen: expected a port from 1 to 65535/);
  });

  it('accepts a good script and fills every default', () => {
    const cfg = loadConfig('good.lua', { source: 'listen = "127.0.0.1:9999"\nbackends = { "http://127.0.0.1:9001", { name = "b", url = "http://[::1]:9002/", weight = 2 } }\ntimeouts = { connect = 1.5 }' + ROUTE });
    expect(cfg.listen).toEqual({ host: '127.0.0.1', port: 9999 });
    expect(cfg.backends.map((b) => [b.name, b.origin, b.weight])).toEqual([['127.0.0.1:9001', 'http://127.0.0.1:9001', 1], ['b', 'http://[::1]:9002', 2]]);
    expect(cfg.settings.timeouts.connect).toBe(1.5);
    expect(cfg.settings.timeouts.header).toBe(60);
  });

  it('says when proxy.hash is called at load time, before the backend list exists', () => {
    const e = problem('backends = { "http://127.0.0.1:1" }\nlocal x = proxy.hash("a")' + ROUTE);
    expect(e.message).toMatch(/^config\.lua:2: proxy\.hash can only be called inside route\(\)/);
  });
});

describe('route() return values', () => {
  const cfg = loadConfig('r.lua', { source: `backends = { { name = "a", url = "http://127.0.0.1:1" } }
function route(host, path)
  if path == "/num" then return 42 end
  if path == "/nosuch" then return "nosuch" end
  if path == "/both" then return { backend = "a", status = 200 } end
  if path == "/badstatus" then return { status = 99 } end
  if path == "/rewrite" then return { backend = "a", path = "/v2", headers = { ["x-a"] = "1", cookie = false } } end
  return nil
end` });
  const r = (p: string) => cfg.route(Buffer.from('h'), Buffer.from(p), null);

  it('refuses a number with a message naming what came back', () => {
    expect(() => r('/num')).toThrow(/^r\.lua:2: route must return a backend name, nil or a table; it returned a number \(42\)/);
  });
  it('refuses an unknown backend name and lists the real ones', () => {
    expect(() => r('/nosuch')).toThrow('r.lua:2: route returned "nosuch", which is not a backend (backends: "a")');
  });
  it('refuses a table with both backend and status', () => expect(() => r('/both')).toThrow(/both status and backend/));
  it('refuses a status outside 200-599', () => expect(() => r('/badstatus')).toThrow(/expected an integer from 200 to 599/));
  it('reads rewrites and header changes', () => {
    expect(r('/rewrite')).toEqual({ kind: 'backend', index: 0, name: 'a', path: '/v2', headers: [['x-a', '1'], ['cookie', null]], hashKey: -1 });
  });
  it('treats nil as no route', () => expect(r('/')).toEqual({ kind: 'none' }));
});

describe('route() table results keep bytes and are checked field by field', () => {
  const cfg = loadConfig('t.lua', { source: `backends = { { name = "a", url = "http://127.0.0.1:1" } }
function route(host, path)
  if path == "/latin" then return { backend = "a", path = "/caf\\xe9", headers = { ["x-v"] = "\\xe9t\\xe9", ["x-n"] = 42 } } end
  if path == "/badheader" then return { backend = "a", headers = { ["bad name"] = "1" } } end
  if path == "/crlf" then return { backend = "a", headers = { ["x-a"] = "1\\r\\nx-b: 2" } } end
  if path == "/framing" then return { backend = "a", headers = { ["Transfer-Encoding"] = "chunked" } } end
  if path == "/proxyauth" then return { backend = "a", headers = { ["Proxy-Authorization"] = "Basic eDp5" } } end
  if path == "/ctl" then return { status = 200, headers = { ["x-a"] = "1\\1" } } end
  if path == "/badpath" then return { backend = "a", path = "nope" } end
  if path == "/ctlpath" then return { backend = "a", path = "/a\\1b" } end
  if path == "/body" then return { status = 200, body = 7 } end
  return { status = 200, headers = {}, body = "ok" }
end` });
  const r = (p: string) => cfg.route(Buffer.from('h'), Buffer.from(p), null);
  it('passes non-UTF-8 bytes of paths and header values through unchanged', () => {
    expect(r('/latin')).toEqual({ kind: 'backend', index: 0, name: 'a', path: '/caf\u00e9', headers: [['x-v', '\u00e9t\u00e9'], ['x-n', '42']], hashKey: -1 });
  });
  it('refuses an invalid header name, a CR/LF in a value, a relative path and a non-string body', () => {
    expect(() => r('/badheader')).toThrow(/header name "bad name", which is not a valid HTTP header name/);
    expect(() => r('/crlf')).toThrow(/containing CR, LF or NUL/);
    // framing and hop-by-hop headers for the backend are the proxy's own (a script value could desync the backend)
    expect(() => r('/framing')).toThrow(/header Transfer-Encoding for the backend, which the proxy sets itself/);
    // the one header policy (src/http1/header-policy.ts): hop-by-hop includes the proxy-* credentials
    expect(() => r('/proxyauth')).toThrow(/header Proxy-Authorization for the backend, which the proxy sets itself/);
    // the proxy writes heads itself: any control byte but HTAB is refused
    expect(() => r('/ctl')).toThrow(/containing CR, LF or NUL \(or another control character\)/);
    expect(() => r('/badpath')).toThrow(/path = "nope"; expected a string starting with "\/"/);
    // it goes into the request line the proxy writes: no control byte may split or corrupt it
    expect(() => r('/ctlpath')).toThrow(/expected a string starting with "\/" and without spaces or control characters/);
    expect(() => r('/body')).toThrow(/body of type number; expected a string/);
  });
  it('accepts an empty headers table', () => expect(r('/')).toMatchObject({ kind: 'respond', status: 200, headers: [] }));
});
