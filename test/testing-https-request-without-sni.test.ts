import { describe, it, expect } from 'vitest';
import { loadRouting } from '../src/routing/routing-script.js';

const SCRIPT = `backends = { { name = "a", url = "http://127.0.0.1:9" } }
function route(host, path, req)
  if req.scheme == "https" and req.tls_sni == nil then return { status = 421, body = "no SNI" } end
  return { status = 200, body = req.scheme .. " " .. tostring(req.tls_sni) }
end`;

describe('a routing test can make the request a TLS client without SNI sends', () => {
  const r = loadRouting('sni.lua', { source: SCRIPT });
  it('tls_sni = false: scheme https, no server name', () => {
    expect(r.route('a.example', '/', { scheme: 'https', tls_sni: false })).toMatchObject({ status: 421 });
    // the default for https is the host, as a browser sends it
    expect(r.route('A.example:443', '/', { scheme: 'https' })).toMatchObject({ status: 200, body: 'https a.example' });
  });
});
