// A minimal reverse proxy: node:http in front, one undici Pool to one backend. No routing,
// no logs, hop-by-hop headers dropped. This is the "small undici-based proxy" peer.
// usage: node undici-proxy.mjs LISTEN_PORT BACKEND_URL
import http from 'node:http';
import { Pool } from 'undici';

const [port, target] = process.argv.slice(2);
const pool = new Pool(target, { connections: 256, pipelining: 1 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-connection']);

http.createServer((req, res) => {
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.request({ path: req.url, method: req.method, headers, body: hasBody ? req : null }).then(({ statusCode, headers: h, body }) => {
    for (const k of HOP) delete h[k];
    res.writeHead(statusCode, h);
    body.pipe(res);
    body.on('error', () => res.destroy());
  }, () => {
    res.writeHead(502);
    res.end();
  });
}).listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
