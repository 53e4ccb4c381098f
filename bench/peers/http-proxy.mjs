// node-http-proxy (http-proxy 1.x) with a keep-alive agent. No logs.
// usage: node http-proxy.mjs LISTEN_PORT BACKEND_URL
import http from 'node:http';
import httpProxy from 'http-proxy';

const [port, target] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target, agent, xfwd: true });
proxy.on('error', (_e, _req, res) => { try { res.writeHead(502); res.end(); } catch { res.destroy?.(); } });
http.createServer((req, res) => proxy.web(req, res)).listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
