/**
 * Request-path normalization before `route` sees a path: percent-encoded unreserved
 * characters are decoded and dot-segments removed (RFC 3986 6.2.2), both of which leave
 * the resource the same. Without it, `/x/../admin` or `/%61dmin` passes a script's
 * `^/admin` check and a backend that normalizes serves /admin anyway. The normalized
 * path is also what the backend receives, so the script and the backend agree.
 */

/** true when `path` may change under normalization (the cheap test on the request path) */
export function needsNormalizing(path: string): boolean {
  return path.indexOf('%') >= 0 || path.indexOf('/.') >= 0;
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 32;
  return c >= 97 && c <= 102 ? c - 87 : -1;
}

function unreserved(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 126;
}

/** the normalized path (it always starts with "/") */
export function normalizePath(path: string): string {
  let s = path;
  if (s.indexOf('%') >= 0) {
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      if (ch === 37 && i + 2 < s.length) {
        const hi = hex(s.charCodeAt(i + 1));
        const lo = hex(s.charCodeAt(i + 2));
        if (hi >= 0 && lo >= 0 && unreserved(hi * 16 + lo)) {
          out += String.fromCharCode(hi * 16 + lo);
          i += 2;
          continue;
        }
        if (hi >= 0 && lo >= 0) {
          out += '%' + s.slice(i + 1, i + 3).toUpperCase();
          i += 2;
          continue;
        }
      }
      out += s[i];
    }
    s = out;
  }
  if (s.indexOf('/.') < 0) return s;
  // RFC 3986 5.2.4 remove_dot_segments, on segments
  const segs = s.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) {
    const seg = segs[i];
    const last = i === segs.length - 1;
    if (seg === '.') { if (last) out.push(''); continue; }
    if (seg === '..') { out.pop(); if (last) out.push(''); continue; }
    out.push(seg);
  }
  return '/' + out.join('/');
}
