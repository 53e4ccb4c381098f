/**
 * Backend state (up, down, drained; in flight; last error) is visible to scripts through
 * `proxy.backend(name)` and `proxy.backends()`, and balancing helpers follow it.
 */
import { describe, it, expect } from 'vitest';
import { startBackend, deadPort } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { get } from './helpers/http.js';

describe('backend state seen from a script', () => {
  it('shows status, last error, drained and ejection to route()', async () => {
    const a = await startBackend('a');
    const dead = await deadPort();
    const p = await startProxy(luaBackends([a, { name: 'dead', url: `http://127.0.0.1:${dead}` }]) + `
health = { interval = 0, eject_after = 1, eject_time = 30 }
retries = { connect = 0 }
function route(host, path)
  if path == "/state" then
    local b = proxy.backend(host)
    return { status = 200, body = table.concat({ b.status, tostring(b.healthy), tostring(b.ejected), tostring(b.last_error), tostring(b.failures), tostring(#proxy.backends()) }, " ") }
  end
  return host
end`);
    try {
      expect((await get(p.url + '/state', { host: 'dead' })).body.toString()).toBe('up true false nil 0 2');
      expect((await get(p.url + '/', { host: 'dead' })).status).toBe(502);
      expect((await get(p.url + '/state', { host: 'dead' })).body.toString()).toBe('down false true LPX_UPSTREAM_REFUSED 1 2');
      p.running.config.backendSet.byName.get('a')!.setDrained(true);
      expect((await get(p.url + '/state', { host: 'a' })).body.toString()).toBe('drained false false nil 0 2');
    } finally {
      await p.close();
      await a.close();
    }
  });
});
