/**
 * The acme table is checked at load like every setting, with file:line: its keys, a
 * directory that is a URL, the challenge and key kinds, names that an ACME server can
 * issue for, a CA file that exists. A TLS listener needs no tls table when acme is on,
 * and tls_allow answers as the proxy would (acme.names always, the hook once per name).
 */
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { loadProblem } from './helpers/config.js';

const ROUTE = '\nfunction route(h, p) return nil end\n';

const problem = loadProblem;

describe('the acme table at load', () => {
  it('names an unknown key with a suggestion, and its line', () => {
    expect(problem('acme = {\n  emial = "a@b.c",\n}' + ROUTE).message).toBe('config.lua:2: acme.emial: unknown setting; did you mean "email"?');
  });

  it('refuses a directory that is not a URL, an unknown challenge or key type, and a name that cannot be ordered', () => {
    expect(problem('acme = {\n  directory = "letsencrypt",\n}' + ROUTE).message).toMatch(/^config\.lua:2: acme\.directory: expected the URL of an ACME directory/);
    expect(problem('acme = {\n  challenge = "dns-01",\n}' + ROUTE).message).toBe('config.lua:2: acme.challenge: expected "http-01", got "dns-01"');
    expect(problem('acme = {\n  key_type = "rsa",\n}' + ROUTE).message).toMatch(/^config\.lua:2: acme\.key_type: expected one of "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-4096", got "rsa"/);
    expect(problem('acme = {\n  names = { "ok.example.com",\n    "*.example.com" },\n}' + ROUTE).message).toBe('config.lua:3: acme.names[2]: expected a DNS name like "www.example.com" (no wildcard, no IP address), got "*.example.com"');
    expect(problem('acme = { names = { "10.0.0.1" } }' + ROUTE).message).toMatch(/acme\.names\[1\]: expected a DNS name/);
    expect(problem('acme = { orders_in_flight = 0 }' + ROUTE).message).toMatch(/acme\.orders_in_flight: expected a whole number of 1 or more, got 0/);
  });

  it('refuses a tls_allow that is not a function, and warns of one that is never called', () => {
    expect(problem('acme = {}\ntls_allow = true' + ROUTE).message).toBe('config.lua:2: tls_allow must be a function, got a boolean');
    const cfg = loadConfig('config.lua', { source: 'backends = {}\nfunction tls_allow(h) return true end' + ROUTE });
    expect(cfg.warnings).toContain('config.lua:2: tls_allow is defined, but the script has no acme table: it is never called');
  });

  it('refuses a CA file that does not exist', () => {
    expect(problem('acme = {\n  ca = "no-such-ca.pem",\n}' + ROUTE).message).toMatch(/^config\.lua:2: acme\.ca: cannot read "no-such-ca\.pem"/);
  });

  it('lets a TLS listener go without a tls table when acme is on (and not otherwise)', () => {
    const listen = 'listen = { { address = "127.0.0.1:0", tls = true } }\n';
    expect(() => loadConfig('config.lua', { source: listen + 'acme = {}' + ROUTE })).not.toThrow();
    expect(problem(listen + ROUTE).message).toMatch(/tls = true, but the script has no tls = /);
  });

  it('answers tls_allow: acme.names always, the hook once per name, nothing without acme', () => {
    const cfg = loadConfig('config.lua', { source: 'acme = { names = { "Static.Example.com" } }\nasked = {}\nfunction tls_allow(h) asked[#asked + 1] = h return h:find("%.ok%.net$") ~= nil end' + ROUTE });
    expect(cfg.tlsAllow('static.example.com')).toBe(true);
    expect(cfg.tlsAllow('a.ok.net')).toBe(true);
    expect(cfg.tlsAllow('A.OK.NET')).toBe(true);
    expect(cfg.tlsAllow('evil.example.org')).toBe(false);
    expect(cfg.tlsAllow('192.168.1.1')).toBe(false); // no IP address is ever asked about
    expect(cfg.script.global('asked')).toEqual(['a.ok.net', 'evil.example.org']);
    const off = loadConfig('config.lua', { source: 'function tls_allow(h) return true end' + ROUTE });
    expect(off.tlsAllow('a.example.com')).toBe(false);
    expect(off.acme).toBeNull();
  });

  it('refuses the name when tls_allow fails, and logs the error with its line', () => {
    const lines: string[] = [];
    const cfg = loadConfig('config.lua', { source: 'acme = {}\nfunction tls_allow(h)\n  error("no " .. h)\nend' + ROUTE, log: (_l, msg) => lines.push(msg) });
    expect(cfg.tlsAllow('x.example.com')).toBe(false);
    expect(lines.join('\n')).toMatch(/tls_allow\("x\.example\.com"\) failed, so the name is refused: config\.lua:3: no x\.example\.com/);
  });
});
