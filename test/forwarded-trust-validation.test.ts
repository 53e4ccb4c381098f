/**
 * forwarded.trust is checked when the script loads: each entry must be an IP address or
 * a CIDR (IPv4 or IPv6, prefix in range), and a bad one is named by its index, with the
 * file and line of the setting.
 */
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { LpxError } from '../src/core/errors.js';

const ROUTE = '\nfunction route(h, p) return nil end\n';

function problem(trust: string): LpxError | null {
  try {
    loadConfig('config.lua', { source: `backends = {}\nforwarded = {\n  forwarded = true,\n  trust = ${trust},\n}${ROUTE}` });
    return null;
  } catch (e) {
    if (e instanceof LpxError) return e;
    throw e;
  }
}

describe('forwarded.trust validation', () => {
  it('refuses an entry that is not an address or CIDR, with file:line and its index', () => {
    const e = problem('{ "10.0.0.0/8", "x" }');
    expect(e?.code).toBe('LPX_CONFIG_INVALID');
    expect(e?.message).toBe('config.lua:4: forwarded.trust[2]: expected an IP address or CIDR like "10.0.0.0/8", got "x"');
  });

  it('refuses a prefix out of range, a bad prefix and a non-string', () => {
    expect(problem('{ "10.0.0.0/33" }')?.message).toBe('config.lua:4: forwarded.trust[1]: expected an IP address or CIDR like "10.0.0.0/8", got "10.0.0.0/33"');
    expect(problem('{ "::1", "fd00::/129" }')?.message).toMatch(/^config\.lua:4: forwarded\.trust\[2\]: .* got "fd00::\/129"$/);
    expect(problem('{ "10.0.0.0/" }')?.message).toMatch(/forwarded\.trust\[1\]: .* got "10\.0\.0\.0\/"$/);
    expect(problem('{ "10.0.0.0/8", 10 }')?.message).toMatch(/forwarded\.trust\[2\]: .* got number 10$/);
    expect(problem('"10.0.0.0/8"')?.message).toBe('config.lua:4: forwarded.trust: expected a list of IP addresses or CIDRs like { "10.0.0.0/8", "::1" }, got string "10.0.0.0/8"');
  });

  it('accepts IPv4 and IPv6 addresses and CIDRs, and an empty list', () => {
    expect(problem('{ "10.0.0.0/8", "192.0.2.7", "::1", "fd00::/8", "0.0.0.0/0" }')).toBeNull();
    expect(problem('{}')).toBeNull();
    const cfg = loadConfig('config.lua', { source: `backends = {}\nforwarded = { trust = { "127.0.0.0/8", "::1" } }${ROUTE}` });
    expect(cfg.settings.forwarded).toEqual({ x_forwarded: true, forwarded: false, trust: ['127.0.0.0/8', '::1'] });
  });
});
