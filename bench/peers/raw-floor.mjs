// The floor: about the least a Node process can do to proxy one request over net.Socket.
// Keep-alive on both sides; it finds the end of the request head and forwards it as is,
// reads the response's Content-Length, and writes the response back in one write. No
// routing, no header rewriting, no validation, no logs, no timeouts: NOT a usable proxy,
// only a measure of what Node itself costs per request (bench/README.md).
// usage: node raw-floor.mjs LISTEN_PORT BACKEND_PORT
import net from 'node:net';
const [port, bport] = process.argv.slice(2).map(Number);
const idle = [];
function getUp() { return idle.pop() ?? net.connect(bport, '127.0.0.1'); }
const CLCR = Buffer.from('\r\n\r\n');
net.createServer((c) => {
  c.setNoDelay(true);
  let buf = null;
  c.on('data', (d) => {
    buf = buf ? Buffer.concat([buf, d]) : d;
    const e = buf.indexOf(CLCR);
    if (e < 0) return;
    const head = buf.subarray(0, e + 4); buf = null;
    const up = getUp(); up.setNoDelay(true);
    let rb = null, need = -1;
    const onData = (d2) => {
      rb = rb ? Buffer.concat([rb, d2]) : d2;
      if (need < 0) {
        const he = rb.indexOf(CLCR); if (he < 0) return;
        const h = rb.latin1Slice(0, he);
        const m = /content-length:\s*(\d+)/i.exec(h);
        need = he + 4 + Number(m[1]);
      }
      if (rb.length >= need) { up.removeListener('data', onData); c.write(rb); rb = null; idle.push(up); }
    };
    up.on('data', onData);
    up.write(head);
  });
  c.on('error', () => {});
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
