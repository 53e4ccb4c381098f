/**
 * Backends that fail in the middle: reset during the body, close during the headers,
 * half-close before the body is complete, garbage instead of HTTP, a body longer than
 * its Content-Length, and more. The client must see a 502, or (once the response has
 * started) a connection that closes before the framing says the body is complete:
 * never a truncated body that looks complete. Bytes past a response's end must never
 * reach another client (response smuggling). The proxy keeps serving throughout.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnProxy, type ProxyProcess } from './lib/proxy-process.js';
import { rawBackend, OK, type RawBackend, type RawConn, type Message } from './lib/raw-backend.js';
import { rawSend, parseResponses } from './lib/client.js';
import { figure, atMost } from './lib/report.js';
import { pick } from './lib/mode.js';

const S = 'backend-faults';
const ROUNDS = pick(5, 20);
const body1k = 'b'.repeat(1000);

type Outcome = '502' | 'truncated-visible' | 'complete';
interface Fault { name: string; act: (c: RawConn) => void; allowed: Outcome[]; http10?: boolean }

const FAULTS: Fault[] = [
  { name: 'reset during a Content-Length body', allowed: ['truncated-visible'], act: (c) => { c.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n${body1k}`); setTimeout(() => c.socket.resetAndDestroy(), 30); } },
  { name: 'reset during a chunked body', allowed: ['truncated-visible'], act: (c) => { c.socket.write(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3e8\r\n${body1k}\r\n`); setTimeout(() => c.socket.resetAndDestroy(), 30); } },
  { name: 'reset during a close-delimited body', allowed: ['truncated-visible'], act: (c) => { c.socket.write(`HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n${body1k}`); setTimeout(() => c.socket.resetAndDestroy(), 30); } },
  { name: 'reset during a close-delimited body, HTTP/1.0 client', http10: true, allowed: ['truncated-visible'], act: (c) => { c.socket.write(`HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n${body1k}`); setTimeout(() => c.socket.resetAndDestroy(), 30); } },
  { name: 'close during the headers', allowed: ['502'], act: (c) => c.socket.end('HTTP/1.1 200 OK\r\ncontent-le') },
  { name: 'close before any byte', allowed: ['502'], act: (c) => c.socket.end() },
  { name: 'reset before any byte', allowed: ['502'], act: (c) => c.socket.resetAndDestroy() },
  { name: 'half-close inside a Content-Length body', allowed: ['truncated-visible'], act: (c) => c.socket.end(`HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n${body1k}`) },
  { name: 'half-close inside a chunked body', allowed: ['truncated-visible'], act: (c) => c.socket.end(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3e8\r\n${body1k}\r\n`) },
  { name: 'garbage instead of a status line', allowed: ['502'], act: (c) => c.socket.write('GARBAGE GARBAGE\r\n\r\n') },
  { name: 'binary garbage', allowed: ['502'], act: (c) => c.socket.write(Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10, 7, 8])) },
  { name: 'status code 2000', allowed: ['502'], act: (c) => c.socket.write('HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n') },
  { name: 'two different Content-Lengths', allowed: ['502'], act: (c) => c.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello!!') },
  { name: 'Content-Length and chunked together', allowed: ['502'], act: (c) => c.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n') },
  { name: 'invalid chunk size', allowed: ['502', 'truncated-visible'], act: (c) => c.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nhello\r\n0\r\n\r\n') },
  { name: 'NUL in a header value', allowed: ['502'], act: (c) => c.socket.write('HTTP/1.1 200 OK\r\nx-a: a\0b\r\ncontent-length: 2\r\n\r\nok') },
  { name: '101 to a request that asked for no upgrade', allowed: ['502'], act: (c) => c.socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: upgrade\r\n\r\nTUNNEL') },
  // longer than its Content-Length: the client gets exactly the declared body, the rest is dropped with the connection
  { name: 'body longer than its Content-Length', allowed: ['complete'], act: (c) => c.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nPOISON') },
  { name: 'a second response nobody asked for, later', allowed: ['complete'], act: (c) => { c.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello'); setTimeout(() => c.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nPOISON'), 50); } },
];

function judge(text: Buffer, reset: boolean): { outcome: Outcome | 'LOOKS-COMPLETE-BUT-TRUNCATED' | 'other'; status: number; body: string } {
  const rs = parseResponses(text);
  const r = rs[0];
  if (!r) return { outcome: 'other', status: 0, body: '' };
  if (r.status === 502) return { outcome: '502', status: 502, body: r.body.toString() };
  if (r.closeDelimited) return { outcome: reset ? 'truncated-visible' : 'LOOKS-COMPLETE-BUT-TRUNCATED', status: r.status, body: r.body.toString() };
  return { outcome: r.complete ? 'complete' : 'truncated-visible', status: r.status, body: r.body.toString() };
}

describe('backend faults mid-stream give a clean error and the proxy keeps serving', () => {
  let proxy: ProxyProcess | null = null;
  let backend: RawBackend | null = null;
  afterAll(async () => { await proxy?.stop(); await backend?.close(); });

  it(`${FAULTS.length} kinds of fault, ${ROUNDS} rounds each, with good requests in between`, async () => {
    backend = await rawBackend((c: RawConn, m: Message) => {
      const f = FAULTS.find((x) => m.target === `/fault/${FAULTS.indexOf(x)}`);
      if (f) f.act(c);
      else c.socket.write(OK(`ok ${m.target}`));
    });
    proxy = await spawnProxy(`backends = { "${backend.url}" }\nretries = { reused = false }\nfunction route(h, p) return proxy.hash(h) end\n`);
    const wrong: string[] = [];
    let faults = 0;
    let goods = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, f] of FAULTS.entries()) {
        const req = f.http10 ? `GET /fault/${i} HTTP/1.0\r\nHost: f.example\r\n\r\n` : `GET /fault/${i} HTTP/1.1\r\nHost: f.example\r\nConnection: close\r\n\r\n`;
        const r = await rawSend(proxy.port, req, 3000);
        const j = judge(r.data, r.reset);
        faults++;
        if (!(f.allowed as string[]).includes(j.outcome)) wrong.push(`${f.name}: got ${j.outcome} (status ${j.status}, ${r.closed ? 'closed' : 'open'}${r.reset ? ', reset' : ''}) ${JSON.stringify(j.body.slice(0, 40))}`);
        if (j.body.includes('POISON') || j.body.includes('TUNNEL')) wrong.push(`${f.name}: bytes from past the response reached the client`);
        // the proxy keeps serving, and never hands stray bytes to the next client
        for (let k = 0; k < 3; k++) {
          const g = await rawSend(proxy.port, `GET /good/${round}/${i}/${k} HTTP/1.1\r\nHost: f.example\r\nConnection: close\r\n\r\n`, 3000);
          const gr = parseResponses(g.data)[0];
          goods++;
          if (gr?.status !== 200 || gr.body.toString() !== `ok /good/${round}/${i}/${k}`) wrong.push(`after "${f.name}": good request got ${gr?.status} ${JSON.stringify(gr?.body.toString().slice(0, 40))}`);
        }
      }
    }
    figure(S, 'faulty responses', faults);
    figure(S, 'good requests in between', goods);
    atMost(S, 'wrong outcomes (truncation that looks complete, stray bytes, failed good requests)', wrong.length, 0);
    expect([...new Set(wrong)]).toEqual([]);
    expect(proxy.exited).toBeNull();
  });
});
