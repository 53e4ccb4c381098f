/**
 * A backend that answers before it has read the request body (413 for an upload too
 * large): the client gets that answer while it is still sending, and then the connection
 * closes, since the rest of the body would otherwise be read as the next request. The
 * backend connection is not reused either (the body was cut short on it). A new client
 * connection afterwards works.
 */
import { describe, it, expect } from 'vitest';
import { once } from 'node:events';
import { startBackend } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { Wire, startRawServer, type RawServer } from './helpers/wire.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TOTAL = 64 * 1024 * 1024;
const TOO_LARGE = 'upload too large';

/** send a large upload until the response arrives, then check the answer and the close */
async function uploadGets413(port: number): Promise<void> {
  const w = await Wire.open(port);
  let stop = false;
  let sent = 0;
  try {
    w.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${TOTAL}\r\n\r\n`);
    const piece = Buffer.alloc(64 * 1024, 120);
    const pump = (async () => {
      while (!stop && !w.closed && sent < TOTAL) {
        sent += piece.length;
        if (!w.write(piece)) await Promise.race([once(w.socket, 'drain'), sleep(100)]);
      }
    })();
    const r = await w.response({ ms: 5000 });
    stop = true;
    await pump;
    expect(r.status).toBe(413);
    expect(r.body.toString()).toBe(TOO_LARGE);
    expect(r.header('connection')?.toLowerCase()).toBe('close');
    expect(sent).toBeLessThan(TOTAL);
    expect(await w.closesWithin(3000)).toBe(true);
    expect(w.buf.length).toBe(0);
  } finally {
    stop = true;
    w.close();
  }
}

async function getOk(port: number): Promise<void> {
  const w = await Wire.open(port);
  try {
    w.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await w.response();
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('ok');
  } finally {
    w.close();
  }
}

describe('a backend that answers before reading the upload', () => {
  it('raw backend that stops reading: the client gets the 413, the connection closes, the backend connection is dropped', async () => {
    const be: RawServer = await startRawServer(async (w) => {
      try {
        await w.until(() => w.buf.indexOf('\r\n\r\n') >= 0, 20_000, 'request head');
        if (w.buf.toString('latin1', 0, 13) === 'POST /upload ') {
          w.write(`HTTP/1.1 413 Payload Too Large\r\nContent-Length: ${TOO_LARGE.length}\r\n\r\n${TOO_LARGE}`);
          w.socket.pause(); // read no more of the body
          return;
        }
        await w.request();
        w.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      } catch { /* the connection closed */ }
    });
    // no active health checks: their TCP connects would count among the backend's connections
    const p = await startProxy(luaBackends([{ name: 'b', url: be.url }]) + 'health = { interval = 0 }\nfunction route() return "b" end\n');
    try {
      await uploadGets413(p.port);
      // the proxy closed its connection to the backend instead of pooling it mid-body
      // (read on, so the close is noticed)
      be.conns[0].socket.resume();
      await be.conns[0].until(() => be.conns[0].closed, 3000, 'the proxy to close the backend connection');
      await getOk(p.port);
      expect(be.conns).toHaveLength(2);
    } finally {
      await p.close();
      await be.close();
    }
  });

  it('node:http backend that answers without reading: the same', async () => {
    const b = await startBackend('b', (req, res) => {
      if (req.url === '/upload') {
        res.writeHead(413, { 'content-length': TOO_LARGE.length });
        res.end(TOO_LARGE);
        return;
      }
      req.resume();
      res.writeHead(200, { 'content-length': 2 });
      res.end('ok');
    });
    const p = await startProxy(luaBackends([b]) + 'function route() return "b" end\n');
    try {
      await uploadGets413(p.port);
      await getOk(p.port);
      expect(b.seen.map((s) => s.url)).toEqual(['/upload', '/ok']);
    } finally {
      await p.close();
      await b.close();
    }
  });
});
