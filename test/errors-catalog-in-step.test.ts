/**
 * docs/errors.md and the error catalog (src/core/errors.ts) say the same thing: every code
 * is documented once with the catalog's HTTP status and exit code, no documented code is
 * missing from the catalog, and no code is set anywhere in src/ outside the catalog (the
 * backend leg used to mark failures with private codes such as LPX_PROTOCOL).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { codes, errorCodes, errorInfo, LpxError, type ErrorCode } from '../src/core/errors.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/** the table rows of docs/errors.md: code -> [status, exit] as written */
function documented(): Map<string, { status: number; exit: number }> {
  const rows = new Map<string, { status: number; exit: number }>();
  for (const line of fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8').split('\n')) {
    const m = /^\| `(LPX_[A-Z0-9_]+)` \| (\d+) \| (\d+) \|/.exec(line);
    if (!m) {
      expect(line, 'a table row that does not parse').not.toMatch(/^\| `LPX_/);
      continue;
    }
    expect(rows.has(m[1]), `${m[1]} is documented twice`).toBe(false);
    rows.set(m[1], { status: Number(m[2]), exit: Number(m[3]) });
  }
  return rows;
}

describe('the error catalog and docs/errors.md', () => {
  it('document every code with its status and exit code, and no other code', () => {
    const rows = documented();
    expect([...rows.keys()].sort()).toEqual([...errorCodes].sort());
    for (const code of errorCodes) {
      const info = errorInfo(code);
      expect(rows.get(code), code).toEqual({ status: info.status, exit: info.exit });
    }
  });

  it('derives codes, LpxError.status and LpxError.exit from the catalog; only LPX_CLI_USAGE exits 2', () => {
    for (const code of errorCodes) {
      const info = errorInfo(code);
      expect(codes[code]).toBe(info.status);
      const e = new LpxError(code, 'x');
      expect([e.status, e.exit]).toEqual([info.status, info.exit]);
      expect(info.status >= 400 && info.status <= 599, `${code}: ${info.status} is not an HTTP error status`).toBe(true);
      expect(info.title.length, code).toBeGreaterThan(0);
    }
    expect(errorCodes.filter((c) => errorInfo(c).exit !== 1)).toEqual(['LPX_CLI_USAGE']);
    expect(errorInfo('LPX_CLI_USAGE').exit).toBe(2);
  });

  it('has every LPX_ code that src/ writes as a string', () => {
    // string literals that look like codes but are not: a sample access-log line's fake code
    const notCodes = new Set(['LPX_SAMPLE']);
    const known = new Set<string>(errorCodes);
    const unknown: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts') && p !== path.join(ROOT, 'src/core/errors.ts')) {
          for (const m of fs.readFileSync(p, 'utf8').matchAll(/['"`](LPX_[A-Z0-9_]+)['"`]/g)) {
            if (!known.has(m[1] as ErrorCode) && !notCodes.has(m[1])) unknown.push(`${path.relative(ROOT, p)}: ${m[1]}`);
          }
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    expect(unknown).toEqual([]);
  });
});
