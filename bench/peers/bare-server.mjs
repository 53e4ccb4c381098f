// Not a proxy: a bare node:http server answering 1 KiB, the floor for what Node itself
// costs per idle keep-alive connection (the memory scenario measures it for reference).
// usage: node bare-server.mjs PORT
import http from 'node:http';
const body = Buffer.alloc(1024, 97);
http.createServer({ keepAlive: true }, (req, res) => { res.writeHead(200, { 'content-length': body.length }); res.end(body); }).listen(Number(process.argv[2]), '127.0.0.1', () => process.send?.('ready'));
