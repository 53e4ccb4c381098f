/**
 * Bad and hostile requests, written byte for byte on raw sockets: malformed request
 * lines, conflicting Content-Length / Transfer-Encoding (request smuggling), oversized
 * headers, invalid Host values, NUL and control bytes, absolute-form and asterisk-form
 * targets, HTTP/1.0 without Host, CONNECT, pipelining. Each must get the right 4xx, or
 * reach the backend as exactly one unambiguous message, which a raw TCP backend checks
 * with a strict parser. The script answers /admin itself (403): no request, smuggled or
 * not, may ever carry /admin to the backend.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnProxy, type ProxyProcess } from './lib/proxy-process.js';
import { rawBackend, header, type RawBackend, type Message } from './lib/raw-backend.js';
import { rawSend, parseResponses } from './lib/client.js';
import { figure, atMost } from './lib/report.js';

const S = 'bad-requests';

/** status codes that are a right answer; 'fwd' = forwarded as one clean message; 'closed' = connection closed without an answer */
type Expect = Array<number | 'fwd' | 'closed'>;
interface Case { name: string; bytes: string | Buffer; expect: Expect; check?: (m: Message) => string | null; messages?: number }

const H = 'Host: app.example\r\n';
const big = 'a'.repeat(20_000);
const many = Array.from({ length: 1200 }, (_, i) => `X-${i}: v\r\n`).join('');

const CASES: Case[] = [
  { name: 'well-formed GET (control)', bytes: `GET /ok HTTP/1.1\r\n${H}\r\n`, expect: ['fwd'] },
  { name: 'extra token in the request line', bytes: `GET /ok HTTP/1.1 extra\r\n${H}\r\n`, expect: [400] },
  { name: 'two spaces in the request line', bytes: `GET  /ok HTTP/1.1\r\n${H}\r\n`, expect: [400, 'fwd'] },
  { name: 'unknown HTTP version', bytes: `GET /ok HTTP/9.9\r\n${H}\r\n`, expect: [400, 505] },
  { name: 'HTTP/0.9 request line', bytes: 'GET /ok\r\n\r\n', expect: [400, 'closed', 'fwd'] },
  { name: 'invalid method token', bytes: `G@T /ok HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'space inside the target', bytes: `GET /a b HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'NUL in the target', bytes: `GET /a\0b HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'NUL in a header value', bytes: `GET /ok HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`, expect: [400] },
  { name: 'control byte in a header value', bytes: `GET /ok HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`, expect: [400] },
  { name: 'bare CR in a header value', bytes: `GET /ok HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, expect: [400] },
  { name: 'space before the colon', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length : 5\r\n\r\nhello`, expect: [400] },
  { name: 'obs-fold header line', bytes: `GET /ok HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`, expect: [400] },
  { name: 'bare LF line endings', bytes: `GET /ok HTTP/1.1\n${H.replace('\r', '')}\n`, expect: [400, 'fwd'] },
  // request smuggling
  { name: 'CL.TE: Content-Length and chunked', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 35\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'TE.CL: chunked and Content-Length', bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGET /admin HTTP/1.1\r\n${H}\r\n0\r\n\r\n`, expect: [400] },
  { name: 'two different Content-Lengths', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, expect: [400] },
  { name: 'two equal Content-Lengths', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, expect: [400, 'fwd'] },
  { name: 'Content-Length "5, 6"', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 5, 6\r\n\r\nhello!`, expect: [400] },
  { name: 'Content-Length "+5"', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`, expect: [400] },
  { name: 'Content-Length "0x5"', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello`, expect: [400] },
  { name: 'Content-Length "-1"', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, expect: [400] },
  { name: 'huge Content-Length', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`, expect: [400] },
  { name: 'Transfer-Encoding: xchunked', bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, expect: [400, 501] },
  { name: 'Transfer-Encoding: chunked, identity', bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, expect: [400, 501] },
  { name: 'Transfer-Encoding: identity', bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\nhello`, expect: [400, 501] },
  { name: 'two Transfer-Encoding: chunked headers', bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, expect: [400, 'fwd'] },
  { name: 'Transfer-Encoding with a tab', bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, expect: [400, 'fwd'] },
  { name: 'Transfer-Encoding in HTTP/1.0', bytes: `POST /ok HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, expect: [400, 'fwd'] },
  { name: 'invalid chunk size', bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, expect: [400, 'closed'] },
  { name: 'chunk size with LF only', bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n`, expect: [400, 'closed'] },
  { name: 'chunk data longer than its size', bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n`, expect: [400, 'closed'] },
  { name: 'chunked body with a trailer', bytes: `POST /ok HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: a\r\n\r\n`, expect: ['fwd'] },
  { name: 'Connection names Content-Length', bytes: `POST /ok HTTP/1.1\r\n${H}Content-Length: 5\r\nConnection: content-length\r\n\r\nhello`, expect: ['fwd', 400] },
  // sizes
  { name: 'one 20 KB header', bytes: `GET /ok HTTP/1.1\r\n${H}X-Big: ${big}\r\n\r\n`, expect: [431] },
  { name: '1200 small headers', bytes: `GET /ok HTTP/1.1\r\n${H}${many}\r\n`, expect: [431, 'fwd'], check: (m) => (m.headers.length < 1200 ? `only ${m.headers.length} headers arrived: some were dropped silently` : null) },
  { name: '20 KB target', bytes: `GET /${big} HTTP/1.1\r\n${H}\r\n`, expect: [431, 414] },
  // Host
  { name: 'no Host in HTTP/1.1', bytes: 'GET /ok HTTP/1.1\r\n\r\n', expect: [400] },
  // RFC 9112 3.2: an empty Host is what a client sends when the target has no authority
  { name: 'empty Host in HTTP/1.1', bytes: 'GET /ok HTTP/1.1\r\nHost:\r\n\r\n', expect: [400, 'fwd'] },
  { name: 'two Host headers', bytes: 'GET /ok HTTP/1.1\r\nHost: app.example\r\nHost: other.example\r\n\r\n', expect: [400] },
  { name: 'Host with a space', bytes: 'GET /ok HTTP/1.1\r\nHost: a b\r\n\r\n', expect: [400] },
  { name: 'Host with a slash', bytes: 'GET /ok HTTP/1.1\r\nHost: a/b\r\n\r\n', expect: [400] },
  { name: 'Host with userinfo', bytes: 'GET /ok HTTP/1.1\r\nHost: user@app.example\r\n\r\n', expect: [400] },
  { name: 'Host with a bad port', bytes: 'GET /ok HTTP/1.1\r\nHost: app.example:80x\r\n\r\n', expect: [400] },
  { name: 'Host with a NUL', bytes: 'GET /ok HTTP/1.1\r\nHost: app\0.example\r\n\r\n', expect: [400] },
  { name: 'Connection names Host', bytes: 'GET /ok HTTP/1.1\r\nHost: app.example\r\nConnection: host\r\n\r\n', expect: ['fwd', 400], check: (m) => (header(m, 'host') !== 'app.example' ? `backend saw Host ${header(m, 'host')} for a request routed as app.example` : null) },
  { name: 'HTTP/1.0 without Host', bytes: 'GET /ok HTTP/1.0\r\n\r\n', expect: [400, 'fwd'] },
  // targets
  { name: 'absolute-form target', bytes: 'GET http://other.example/ok HTTP/1.1\r\nHost: app.example\r\n\r\n', expect: ['fwd', 400], check: (m) => (header(m, 'host') !== 'other.example' ? `routed by other.example but the backend saw Host ${header(m, 'host')}` : null) },
  { name: 'absolute-form https target', bytes: `GET https://other.example/ok HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'absolute-form with userinfo', bytes: `GET http://u:p@other.example/ok HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'absolute-form to /admin', bytes: `GET http://app.example/admin HTTP/1.1\r\n${H}\r\n`, expect: [403] },
  { name: 'asterisk-form', bytes: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'authority-form CONNECT', bytes: 'CONNECT other.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n', expect: [400, 405, 501, 'closed'] },
  { name: 'path with ../ to /admin', bytes: `GET /x/../admin HTTP/1.1\r\n${H}\r\n`, expect: [400, 403] },
  { name: 'path with /./ and %2e%2e to /admin', bytes: `GET /./x/%2e%2e/admin HTTP/1.1\r\n${H}\r\n`, expect: [400, 403] },
  { name: 'percent-encoded letters: /%61dmin', bytes: `GET /%61dmin HTTP/1.1\r\n${H}\r\n`, expect: [400, 403] },
  { name: 'dot-segments are removed before the backend', bytes: `GET /a/./b/../c?x=/../y HTTP/1.1\r\n${H}\r\n`, expect: ['fwd'], check: (m) => (m.target !== '/a/c?x=/../y' ? `backend got ${m.target}` : null) },
  // pipelining: the second request is routed on its own
  { name: 'pipelined GET then /admin', bytes: `GET /ok HTTP/1.1\r\n${H}\r\nGET /admin HTTP/1.1\r\n${H}\r\n`, expect: ['fwd'], messages: 1 },
];

function statusOf(text: string): number | 'closed' {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : 'closed';
}

describe('bad requests get the right 4xx or reach the backend as one unambiguous message', () => {
  let proxy: ProxyProcess | null = null;
  let backend: RawBackend | null = null;
  afterAll(async () => { await proxy?.stop(); await backend?.close(); });

  it(`${CASES.length} hostile requests`, async () => {
    backend = await rawBackend();
    proxy = await spawnProxy(`backends = { "${backend.url}" }
function route(host, path)
  if path:find("^/admin") then return { status = 403, body = "forbidden" } end
  return proxy.hash(host)
end
`);
    const wrong: string[] = [];
    let rejected = 0;
    let forwarded = 0;
    for (const c of CASES) {
      const before = backend.messages.length;
      const problemsBefore = backend.problems.length;
      const r = await rawSend(proxy.port, c.bytes, 2000, 0, { untilResponse: !c.messages });
      if (c.messages) await new Promise((res) => setTimeout(res, 300));
      const got = backend.messages.slice(before);
      const status = statusOf(r.text);
      const outcome = got.length > 0 ? 'fwd' : status;
      if (!c.expect.includes(outcome)) wrong.push(`${c.name}: expected ${c.expect.join(' or ')}, got ${outcome === 'fwd' ? `forwarded (${status})` : outcome}`);
      if (outcome === 'fwd') {
        forwarded++;
        if (got.length !== (c.messages ?? 1)) wrong.push(`${c.name}: the backend got ${got.length} messages`);
        for (const m of got) {
          const why = c.check?.(m);
          if (why) wrong.push(`${c.name}: ${why}`);
        }
        if (c.messages) {
          const rs = parseResponses(r.data);
          if (rs.map((x) => x.status).join(',') !== '200,403') wrong.push(`${c.name}: responses ${rs.map((x) => x.status).join(',')}`);
        }
      } else {
        rejected++;
      }
      if (backend.problems.length > problemsBefore) wrong.push(`${c.name}: AMBIGUOUS at the backend: ${backend.problems.slice(problemsBefore).join('; ')}`);
    }
    const admin = backend.messages.filter((m) => /admin/i.test(m.target) || /admin/i.test(m.body.toString('latin1')));
    if (admin.length) wrong.push(`/admin reached the backend ${admin.length} times`);
    figure(S, 'hostile requests', CASES.length);
    figure(S, 'rejected with a 4xx/5xx or closed', rejected);
    figure(S, 'forwarded as one clean message', forwarded);
    figure(S, 'aborted uploads the backend saw (not ambiguous)', backend.truncated.length);
    atMost(S, 'wrong answers or ambiguous messages at the backend', wrong.length, 0);
    expect(wrong).toEqual([]);
    // and it still serves
    const ok = await rawSend(proxy.port, `GET /ok HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    expect(statusOf(ok.text)).toBe(200);
    expect(proxy.exited).toBeNull();
  });
});
