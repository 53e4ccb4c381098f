/**
 * Differential test of the request-head parser (src/http1/parse.ts) against llhttp, node's
 * own parser, reached through a real node:http server on 127.0.0.1. A corpus of request
 * heads (valid ones, every header-line defect, and seeded random mutations of valid heads)
 * goes to both. Whenever our parser accepts a head, llhttp must accept it too and see the
 * same method, target, version and header lines: a head only we accept is a head that
 * another parser in the chain may frame differently (request smuggling). Heads we refuse
 * and llhttp accepts are allowed (we are stricter) and listed in the output.
 *
 * The server is http.createServer with default options except requireHostHeader: false.
 * That check is node's (not llhttp's) and answers 400 without an event; our parser leaves
 * the missing-Host decision to the proxy, so here it would only hide llhttp's verdict.
 */
import { describe, it, expect } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { headEnd, parseRequestHead, leadingEmptyLines, HttpParseError } from '../src/http1/parse.js';
import { seededRandom } from '../src/balancer/balancer.js';

interface Seen { method: string; url: string; version: string; headers: string[] }
type Verdict = { ok: true; seen: Seen } | { ok: false; why: string };
interface Case { name: string; bytes: Buffer }

/**
 * Heads we accept and llhttp refuses, on purpose. Each entry says why the difference is
 * not a framing ambiguity, from the RFC.
 */
const DOCUMENTED: Array<{ why: string; applies: (c: Case, ours: Seen) => boolean }> = [
  {
    // llhttp knows a fixed list of methods and refuses any other token (and lower case)
    why: 'extension method: RFC 9110 9.1 methods are case-sensitive tokens and the set is extensible (16.1); '
      + 'an unknown method is the origin\'s 501 to give, and message framing never depends on the request method (RFC 9112 6.3)',
    applies: (_c, ours) => !http.METHODS.includes(ours.method),
  },
  {
    // llhttp parses the target as a URL; our parser takes it as one token of visible bytes
    why: 'request-target form: RFC 9112 3.2 wants a 400 for a target that is not origin-, absolute-, authority- or '
      + 'asterisk-form, and the recipient (the proxy) gives it right after parsing: server.ts decide() answers 400 to '
      + 'anything but "/..." or an http:// URL and 405 to every CONNECT. The request line is delimited by SP and CRLF '
      + 'exactly as llhttp delimits it, so the framing is the same',
    applies: (_c, ours) => ours.method === 'CONNECT' || ours.url.charCodeAt(0) !== 47 /* / */,
  },
];

// ---- our side

function ours(bytes: Buffer): Verdict {
  try {
    const buf = bytes.subarray(leadingEmptyLines(bytes, 0));
    const end = headEnd(buf, 0, 0, 64 * 1024);
    if (end < 0) return { ok: false, why: 'incomplete' };
    const h = parseRequestHead(buf, 0, end);
    return { ok: true, seen: { method: h.method, url: h.target, version: `1.${h.minor}`, headers: h.headers } };
  } catch (e) {
    if (!(e instanceof HttpParseError)) throw e;
    return { ok: false, why: `${e.status} ${e.message}` };
  }
}

// ---- llhttp's side: a node:http server, one connection per head, told apart by port

async function withLlhttp<T>(run: (send: (b: Buffer) => Promise<Verdict>) => Promise<T>): Promise<T> {
  const pending = new Map<number, (v: Verdict) => void>();
  const settle = (port: number | undefined, v: Verdict): void => {
    if (port === undefined) return;
    const done = pending.get(port);
    if (done) { pending.delete(port); done(v); }
  };
  const seen = (req: http.IncomingMessage): void => settle(req.socket.remotePort, {
    ok: true, seen: { method: req.method ?? '', url: req.url ?? '', version: req.httpVersion, headers: req.rawHeaders },
  });
  const server = http.createServer({ requireHostHeader: false });
  server.on('request', (req, res) => { seen(req); res.end(); });
  server.on('checkExpectation', (req, res) => { seen(req); res.end(); });
  server.on('connect', (req, socket: net.Socket) => { seen(req); socket.destroy(); });
  server.on('upgrade', (req, socket: net.Socket) => { seen(req); socket.destroy(); });
  server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: net.Socket) => {
    settle(socket.remotePort, { ok: false, why: `${err.code ?? 'error'} ${err.reason ?? err.message}` });
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const sockets = new Set<net.Socket>();
  const send = (bytes: Buffer): Promise<Verdict> => new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    sockets.add(c);
    let local = -1;
    const timer = setTimeout(() => { if (pending.delete(local)) resolve({ ok: false, why: 'no verdict in 5 s' }); c.destroy(); }, 5000);
    c.on('connect', () => {
      local = c.localPort!;
      pending.set(local, (v) => { clearTimeout(timer); resolve(v); });
      c.end(bytes);
    });
    c.on('data', () => {});
    c.on('error', () => {});
    c.on('close', () => {
      sockets.delete(c);
      // the server's events come before the client sees the close; give them a moment
      setTimeout(() => { if (pending.has(local)) { pending.delete(local); clearTimeout(timer); resolve({ ok: false, why: 'closed without an event' }); } }, 100);
    });
  });
  try {
    return await run(send);
  } finally {
    for (const s of sockets) s.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// ---- the corpus

const L = (s: string): Buffer => Buffer.from(s, 'latin1');
const H = 'Host: a.example\r\n';

const VALID: string[] = [
  `GET / HTTP/1.1\r\n${H}\r\n`,
  `GET /p/a/t/h?q=1&r=%20#frag HTTP/1.1\r\n${H}Accept: */*\r\nUser-Agent: t/1.0 (x; y)\r\n\r\n`,
  `POST /u HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello`,
  `POST /u HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
  'GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  `GET http://b.example/x HTTP/1.1\r\n${H}\r\n`,
  `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
  `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  `PUT /e HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 1\r\n\r\nx`,
  `DELETE /d HTTP/1.1\r\n${H}X-Empty:\r\nX-Ws: \t a b \t\r\nx-lower: 1\r\nX-OBS: caf\xe9\r\n!#$%&'*+-.^_\`|~: v\r\n\r\n`,
  `\r\n\r\nGET /after-empty-lines HTTP/1.1\r\n${H}\r\n`,
  `PATCH /p HTTP/1.1\r\n${H}Content-Length: 0\r\nCookie: a=1; b=2\r\nCookie: c=3\r\n\r\n`,
  `HEAD / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  `CONNECT b.example:443 HTTP/1.1\r\n${H}\r\n`,
];

function defects(): Case[] {
  const out: Case[] = [];
  const add = (name: string, s: string): void => { out.push({ name, bytes: L(s) }); };
  const ctl = ['\x00', '\x01', '\x08', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f'];
  add('LF alone ends the request line', `GET / HTTP/1.1\n${H}\r\n`);
  add('LF alone ends a header', `GET / HTTP/1.1\r\nHost: a\n\r\n`);
  add('LF alone as the final empty line', `GET / HTTP/1.1\r\n${H}\n`);
  add('LF alone inside a value', `GET / HTTP/1.1\r\n${H}X: a\nb\r\n\r\n`);
  add('LF LF', 'GET / HTTP/1.1\n\n');
  add('LF before the request line', `\nGET / HTTP/1.1\r\n${H}\r\n`);
  add('CR alone in a value', `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`);
  add('CR alone at the end of a value', `GET / HTTP/1.1\r\n${H}X: a\r\r\n\r\n`);
  add('CR alone before a colon', `GET / HTTP/1.1\r\n${H}X\r: a\r\n\r\n`);
  add('CR alone in the target', `GET /\r HTTP/1.1\r\n${H}\r\n`);
  add('CR alone at the start of a header line, CL after it', `POST / HTTP/1.1\r\n${H}\rContent-Length: 5\r\n\r\nhello`);
  add('CR alone at the start of the first header line', `GET / HTTP/1.0\r\n\rHost: a\r\n\r\n`);
  add('obs-fold SP', `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`);
  add('obs-fold HTAB', `GET / HTTP/1.1\r\n${H}X: a\r\n\tb\r\n\r\n`);
  add('first header line folded', `GET / HTTP/1.1\r\n ${H}\r\n`);
  add('SP before colon', `GET / HTTP/1.1\r\nHost : a\r\n\r\n`);
  add('HTAB before colon', `GET / HTTP/1.1\r\nHost\t: a\r\n\r\n`);
  add('SP before colon of Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length : 5\r\n\r\nhello`);
  add('SP before colon of Transfer-Encoding', `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`);
  add('empty name', `GET / HTTP/1.1\r\n${H}: a\r\n\r\n`);
  add('no colon', `GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n`);
  add('SP inside a name', `GET / HTTP/1.1\r\n${H}A B: c\r\n\r\n`);
  for (const c of ctl) {
    const x = c.charCodeAt(0).toString(16);
    add(`0x${x} in a name`, `GET / HTTP/1.1\r\n${H}X${c}Y: a\r\n\r\n`);
    add(`0x${x} in a value`, `GET / HTTP/1.1\r\n${H}X: a${c}b\r\n\r\n`);
    add(`0x${x} in the target`, `GET /a${c}b HTTP/1.1\r\n${H}\r\n`);
    add(`0x${x} in the method`, `G${c}T / HTTP/1.1\r\n${H}\r\n`);
  }
  for (const c of ['(', ')', ',', '/', ';', '=', '?', '@', '[', ']', '{', '}', '"', '\\', '\x80', '\xff']) add(`${JSON.stringify(c)} in a name`, `GET / HTTP/1.1\r\n${H}X${c}Y: a\r\n\r\n`);
  add('HTAB in the target', `GET /a\tb HTTP/1.1\r\n${H}\r\n`);
  add('obs-text in the target', `GET /caf\xe9 HTTP/1.1\r\n${H}\r\n`);
  add('two equal Content-Lengths', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`);
  add('two different Content-Lengths', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`);
  add('Content-Length list', `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`);
  for (const v of ['+5', '-5', '0x5', '5a', '5 5', '1e3', '5.0', '', '9999999999999999', ' 5 ', '\t5']) add(`Content-Length ${JSON.stringify(v)}`, `POST / HTTP/1.1\r\n${H}Content-Length: ${v}\r\n\r\nhello`);
  add('TE then CL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`);
  add('CL then TE', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
  for (const v of ['gzip', 'identity', 'gzip, chunked', 'chunked, gzip', 'chunked, chunked', 'xchunked', '', 'CHUNKED', ' chunked ']) add(`TE ${JSON.stringify(v)}`, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n\r\n0\r\n\r\n`);
  add('two TE headers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
  add('TE in HTTP/1.0', `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
  add('two Host headers', `GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`);
  add('two equal Host headers', `GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n`);
  for (const v of ['HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 ', 'http/1.1', 'HTTP/1.10', 'HTTP/11', 'HTTP/1', 'HTTP/1.1x', '']) add(`version ${JSON.stringify(v)}`, `GET / ${v}\r\n${H}\r\n`);
  for (const line of ['GET  / HTTP/1.1', ' GET / HTTP/1.1', 'GET\t/ HTTP/1.1', 'GET /a b HTTP/1.1', 'GET HTTP/1.1', 'GET /']) add(`request line ${JSON.stringify(line)}`, `${line}\r\n${H}\r\n`);
  add('unknown method', `FOO / HTTP/1.1\r\n${H}\r\n`);
  add('lower-case method', `get / HTTP/1.1\r\n${H}\r\n`);
  add('no Host in HTTP/1.1', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n');
  add('target without a slash', `GET abc HTTP/1.1\r\n${H}\r\n`);
  add('unusual target bytes', `GET /a"<>\\^\`{|}% HTTP/1.1\r\n${H}\r\n`);
  return out;
}

/** the seeded PRNG the balancer tests use */
const prng = seededRandom;

const INTERESTING = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x3a, 0x2c, 0x3b, 0x22, 0x7f, 0x80, 0xff, 0x61, 0x41, 0x2f, 0x0b, 0x3d];

function mutations(count: number, seed: number): Case[] {
  const rnd = prng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)];
  const out: Case[] = [];
  for (let n = 0; n < count; n++) {
    const base = pick(VALID);
    // mutate the head only: the body (if any) stays as it was
    const headLen = base.indexOf('\r\n\r\n', base.startsWith('\r\n\r\n') ? 4 : 0) + 4;
    let head = [...L(base.slice(0, headLen))];
    const body = base.slice(headLen);
    const ops: string[] = [];
    const times = 1 + Math.floor(rnd() * 2);
    for (let t = 0; t < times; t++) {
      const at = Math.floor(rnd() * (head.length - 2)); // never the final CRLF's last byte
      const op = Math.floor(rnd() * 6);
      if (op === 0) { const b = pick(INTERESTING); head.splice(at, 0, b); ops.push(`insert 0x${b.toString(16)}@${at}`); }
      else if (op === 1) { ops.push(`delete 0x${head[at].toString(16)}@${at}`); head.splice(at, 1); }
      else if (op === 2) { const b = pick(INTERESTING); ops.push(`replace 0x${head[at].toString(16)}@${at} by 0x${b.toString(16)}`); head[at] = b; }
      else if (op === 3) { head.splice(at, 0, head[at]); ops.push(`double 0x${head[at].toString(16)}@${at}`); }
      else if (op === 4) {
        // repeat one header line
        const s = Buffer.from(head).toString('latin1');
        const lines = s.split('\r\n');
        if (lines.length > 3) {
          const i = 1 + Math.floor(rnd() * (lines.length - 3));
          lines.splice(i, 0, lines[i]);
          head = [...L(lines.join('\r\n'))];
          ops.push(`repeat line ${i}`);
        }
      } else {
        // flip the case of a letter
        const i = head.findIndex((c, k) => k >= at && ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a));
        if (i >= 0) { head[i] ^= 0x20; ops.push(`case@${i}`); }
      }
    }
    out.push({ name: `mutation #${n} of ${JSON.stringify(base.slice(0, 24))}: ${ops.join(', ')}`, bytes: Buffer.concat([Buffer.from(head), L(body)]) });
  }
  return out;
}

async function runAll(send: (b: Buffer) => Promise<Verdict>, cases: Case[]): Promise<Verdict[]> {
  const results: Verdict[] = new Array(cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await send(cases[i].bytes);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return results;
}

const show = (b: Buffer): string => JSON.stringify(b.toString('latin1'));

describe('request heads: our parser against llhttp', () => {
  it('the harness tells acceptance from refusal: valid heads pass both the same way, broken ones fail llhttp', async () => {
    await withLlhttp(async (send) => {
      for (const s of VALID) {
        const o = ours(L(s));
        const l = await send(L(s));
        expect(o.ok, s).toBe(true);
        expect(l, s).toEqual(o);
      }
      for (const s of [`GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`, `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`, 'GET / HTTP/1.1\n\n']) {
        expect((await send(L(s))).ok, s).toBe(false);
      }
    });
  });

  it('every head we accept, llhttp accepts with the same method, target, version and header lines', async () => {
    const cases: Case[] = [...VALID.map((s, i) => ({ name: `valid #${i}`, bytes: L(s) })), ...defects(), ...mutations(400, 0x5eed)];
    expect(cases.length).toBeGreaterThanOrEqual(150);
    const llhttp = await withLlhttp((send) => runAll(send, cases));
    const onlyOurs: string[] = [];
    const differentFields: string[] = [];
    const documented: string[] = [];
    const stricter: string[] = [];
    let bothAccept = 0;
    let bothRefuse = 0;
    cases.forEach((c, i) => {
      const o = ours(c.bytes);
      const l = llhttp[i];
      if (o.ok && l.ok) {
        bothAccept++;
        if (JSON.stringify(o.seen) !== JSON.stringify(l.seen)) differentFields.push(`${c.name}\n    bytes ${show(c.bytes)}\n    ours   ${JSON.stringify(o.seen)}\n    llhttp ${JSON.stringify(l.seen)}`);
      } else if (o.ok && !l.ok) {
        const doc = DOCUMENTED.find((d) => d.applies(c, o.seen));
        if (doc) documented.push(`${c.name}: ${show(c.bytes)} (${doc.why.slice(0, 40)}...)`);
        else onlyOurs.push(`${c.name}\n    bytes ${show(c.bytes)}\n    ours   ${JSON.stringify(o.seen)}\n    llhttp ${l.why}`);
      } else if (!o.ok && l.ok) stricter.push(`${c.name}: ${show(c.bytes)} -> ours ${o.why}`);
      else bothRefuse++;
    });
    console.log([
      `llhttp differential: ${cases.length} heads; both accept ${bothAccept}, both refuse ${bothRefuse}, `
        + `only llhttp accepts ${stricter.length}, only we accept ${onlyOurs.length + documented.length} (${documented.length} documented)`,
      `-- refused by us, accepted by llhttp (we are stricter): ${stricter.length}`, ...stricter.map((s) => `  ${s}`),
      `-- accepted by us, refused by llhttp, documented: ${documented.length}`, ...documented.map((s) => `  ${s}`),
    ].join('\n'));
    expect(onlyOurs, `heads only we accept (a framing disagreement with llhttp):\n${onlyOurs.join('\n')}`).toEqual([]);
    expect(differentFields, `heads both accept but read differently:\n${differentFields.join('\n')}`).toEqual([]);
    // the corpus must exercise both sides
    expect(bothAccept).toBeGreaterThan(30);
    expect(bothRefuse).toBeGreaterThan(30);
  });
});
