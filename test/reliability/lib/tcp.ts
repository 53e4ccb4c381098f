/**
 * Kernel socket queues from /proc/net/tcp (IPv4 loopback): bytes written to a socket
 * and not yet acknowledged (tx_queue) and bytes received and not yet read by the
 * process (rx_queue). Subtracting them from "the backend wrote W, the client read R"
 * leaves what the proxy holds in its own memory.
 */
import fs from 'node:fs';

export interface TcpRow { local: number; remote: number; tx: number; rx: number }

export function tcpRows(): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const [tx, rx] = f[4].split(':').map((h) => parseInt(h, 16));
    rows.push({ local: parseInt(f[1].split(':')[1], 16), remote: parseInt(f[2].split(':')[1], 16), tx, rx });
  }
  return rows;
}

/** kernel bytes queued on the four hops of client -> proxy -> backend connections */
export function queues(proxyPort: number, backendPort: number): { backendTx: number; proxyUpRx: number; proxyUpTx: number; backendRx: number; proxyDownTx: number; proxyDownRx: number; clientRx: number; clientTx: number } {
  const q = { backendTx: 0, proxyUpRx: 0, proxyUpTx: 0, backendRx: 0, proxyDownTx: 0, proxyDownRx: 0, clientRx: 0, clientTx: 0 };
  for (const r of tcpRows()) {
    if (r.local === backendPort && r.remote !== 0) { q.backendTx += r.tx; q.backendRx += r.rx; }
    if (r.remote === backendPort) { q.proxyUpRx += r.rx; q.proxyUpTx += r.tx; }
    if (r.local === proxyPort && r.remote !== 0) { q.proxyDownTx += r.tx; q.proxyDownRx += r.rx; }
    if (r.remote === proxyPort) { q.clientRx += r.rx; q.clientTx += r.tx; }
  }
  return q;
}
