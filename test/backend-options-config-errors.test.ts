/**
 * A backend entry's connection options are checked at load, each error naming the file,
 * the line of the field and the entry: a CA file that is missing or not PEM, a
 * proxy_protocol that is not "v1" or "v2", TLS options on an http:// backend. A CA file
 * becomes one of the config's files (watched and hashed like the script).
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { loadProblem } from './helpers/config.js';
import { makeCA } from '../src/tls/self-signed.js';

const ROUTE = '\nfunction route(h, p) return nil end\n';

function dirWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-backend-options-'));
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

/** the load error, with the temp folder left out of its message (config.lua:N: ...) */
function problem(dir: string, source: string): { code: string; message: string } {
  const e = loadProblem(source, path.join(dir, 'config.lua'));
  return { code: e.code, message: e.message.split(dir + path.sep).join('') };
}

const SCRIPT = (second: string) => `backends = {\n  "http://127.0.0.1:9001",\n  ${second},\n}${ROUTE}`;

describe('backend connection options at load', () => {
  it('refuses a missing CA file, naming the entry and its line', () => {
    const e = problem(dirWith({}), SCRIPT('{ name = "b", url = "https://10.0.0.5:8443", ca = "certs/ca.pem" }'));
    expect(e.code).toBe('LPX_CONFIG_INVALID');
    expect(e.message).toMatch(/^config\.lua:3: backends\[2\]\.ca: cannot read "certs\/ca\.pem": no such file \(ENOENT, at certs\/ca\.pem\)$/);
  });

  it('refuses a CA file that is not PEM', () => {
    const dir = dirWith({ 'ca.pem': 'hello, not a certificate\n' });
    const e = problem(dir, `backends = {\n  "http://127.0.0.1:9001",\n  {\n    name = "b",\n    url = "https://10.0.0.5:8443",\n    ca = "ca.pem",\n  },\n}${ROUTE}`);
    expect(e.message).toBe('config.lua:6: backends[2].ca: "ca.pem" is not a PEM file of CA certificates: expected "-----BEGIN CERTIFICATE-----", got "hello, not a certificate"');
  });

  it('refuses a proxy_protocol that is not "v1" or "v2"', () => {
    const e = problem(dirWith({}), SCRIPT('{ name = "b", url = "http://10.0.0.5:8000", proxy_protocol = true }'));
    expect(e.message).toBe('config.lua:3: backends[2].proxy_protocol: expected "v1" or "v2", got boolean true');
    const v3 = problem(dirWith({}), SCRIPT('{ name = "b", url = "http://10.0.0.5:8000", proxy_protocol = "v3" }'));
    expect(v3.message).toBe('config.lua:3: backends[2].proxy_protocol: expected "v1" or "v2", got string "v3"');
  });

  it('refuses TLS options on an http:// backend, and a servername that is an IP address', () => {
    expect(problem(dirWith({}), SCRIPT('{ name = "b", url = "http://10.0.0.5:8000", verify = false }')).message)
      .toBe('config.lua:3: backends[2].verify: only for an https:// backend, got url "http://10.0.0.5:8000"');
    expect(problem(dirWith({}), SCRIPT('{ name = "b", url = "https://10.0.0.5:8443", servername = "10.0.0.5" }')).message)
      .toMatch(/^config\.lua:3: backends\[2\]\.servername: expected a host name like "api\.internal" \(SNI cannot carry an IP address\), got string "10\.0\.0\.5"$/);
    expect(problem(dirWith({}), SCRIPT('{ name = "b", url = "https://10.0.0.5:8443", verify = "no" }')).message)
      .toBe('config.lua:3: backends[2].verify: expected true or false, got string "no"');
  });

  it('suggests the field for a misspelled option', () => {
    expect(problem(dirWith({}), SCRIPT('{ name = "b", url = "https://10.0.0.5:8443", server_name = "a.internal" }')).message)
      .toMatch(/^config\.lua:3: backends\[2\]: unknown field "server_name".*servername/);
  });

  it('reads the options into the backend, and the CA file into the config\'s files', async () => {
    const ca = await makeCA();
    const dir = dirWith({ 'ca.pem': ca.cert });
    const cfg = loadConfig(path.join(dir, 'config.lua'), { source: SCRIPT('{ name = "b", url = "https://10.0.0.5:8443", ca = "ca.pem", servername = "API.internal", proxy_protocol = "v2" }') });
    expect(cfg.backends[1]).toMatchObject({ name: 'b', verify: true, servername: 'api.internal', proxyProtocol: 'v2', ca: { file: path.join(dir, 'ca.pem') } });
    expect(cfg.backends[0]).toMatchObject({ ca: null, verify: true, servername: null, proxyProtocol: null });
    expect(cfg.files.get(path.join(dir, 'ca.pem'))?.toString()).toBe(ca.cert);
    expect(cfg.warnings).toEqual([]);
  });
});
