import { describe, it, expect } from 'vitest';
import { loadRouting } from '../src/routing/routing-script.js';
import { murmur3 } from '../src/balancer/hash.js';

// failover of a request follows the proxy.hash key whose pick route returned; the key
// travels in the decision of that one call (no state shared between calls)
const SCRIPT = `backends = { { name = "a", url = "http://127.0.0.1:9" }, { name = "b", url = "http://127.0.0.1:9" }, { name = "c", url = "http://127.0.0.1:9" } }
function route(host, path)
  local pick = proxy.hash("tenant-7")
  if path == "/pick" then return pick end
  if path == "/table" then return { backend = pick, path = "/x" } end
  if path == "/other" then for _, n in ipairs({ "a", "b", "c" }) do if n ~= pick then return n end end end
  return nil
end`;

describe('a decision carries the proxy.hash key of its own call', () => {
  const r = loadRouting('hash-key.lua', { source: SCRIPT });
  const key = murmur3(Buffer.from('tenant-7'));

  it('when route returns the pick, by name or in a table', () => {
    const d = r.decide('x.example', '/pick').decision;
    expect(d).toMatchObject({ kind: 'backend', hashKey: key });
    expect(r.decide('x.example', '/table').decision).toMatchObject({ kind: 'backend', path: '/x', hashKey: key });
  });

  it('not when route returns another backend, and not in the next call', () => {
    expect(r.decide('x.example', '/other').decision).toMatchObject({ kind: 'backend', hashKey: -1 });
    // a call that picks and returns nothing, then a call that returns a name without picking
    expect(r.decide('x.example', '/none').decision).toEqual({ kind: 'none' });
    const plain = loadRouting('plain.lua', { source: 'backends = { "http://127.0.0.1:9" }\nfunction route(h, p) if p == "/h" then proxy.hash(h) return nil end return "127.0.0.1:9" end' });
    plain.decide('x.example', '/h');
    expect(plain.decide('x.example', '/').decision).toMatchObject({ kind: 'backend', hashKey: -1 });
  });
});
