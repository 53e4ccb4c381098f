/**
 * The one rule for which certificate name serves which TLS server name (SNI). Names
 * compare case-insensitively (stored lower case, a trailing dot dropped), and a wildcard
 * covers exactly one leftmost label: `*.b.example.com` serves `x.b.example.com`, never
 * `b.example.com` nor `y.x.b.example.com` (RFC 6125 6.4.3, as browsers apply it).
 */

/** `name` as it is stored and looked up: lower case, without a trailing dot */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** the one wildcard name that may serve `name` (`x.b.example.com` -> `*.b.example.com`), or null when none can */
export function wildcardFor(name: string): string | null {
  const dot = name.indexOf('.');
  // no first label, or nothing after it that has a dot of its own (`*.com` is never asked for)
  if (dot <= 0 || name.startsWith('*')) return null;
  const rest = name.slice(dot + 1);
  return rest.includes('.') && !rest.startsWith('.') ? `*.${rest}` : null;
}

/** the DNS names of an X.509 subjectAltName as node prints it (`DNS:a.example, IP Address:1.2.3.4, DNS:"quoted"`) */
export function dnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const out: string[] = [];
  for (const m of subjectAltName.matchAll(/(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const raw = m[1].startsWith('"') ? (JSON.parse(m[1]) as string) : m[1];
    if (raw) out.push(normalizeName(raw));
  }
  return out;
}
