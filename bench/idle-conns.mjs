// Opens N keep-alive client connections to 127.0.0.1:PORT, sends one GET on each, reads
// the response, and keeps them all open (idle) until killed. Prints "open N" when done.
// usage: node bench/idle-conns.mjs PORT N [PATH]
import net from 'node:net';

const [port, n, path = '/1k'] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const sockets = [];
let done = 0;
let failed = 0;
const batch = 500;

function one(i) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    s.on('error', () => { failed++; resolve(); });
    s.on('connect', () => s.write(`GET ${path} HTTP/1.1\r\nHost: idle${i % 200}.example.com\r\n\r\n`));
    s.on('data', (c) => {
      got += c.length;
      // headers + 1 KiB body: enough to know the response came back
      if (got >= 1024) { s.removeAllListeners('data'); s.on('data', () => {}); done++; resolve(); }
    });
    sockets.push(s);
  });
}

for (let i = 0; i < n; i += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => one(i + k)));
}
console.log(`open ${done} failed ${failed}`);
setInterval(() => {}, 1 << 30);
