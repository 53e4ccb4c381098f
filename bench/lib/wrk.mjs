// Runs wrk and parses its report: requests, requests/s, latency percentiles, errors.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'wrk', 'hosts.lua');

function toMs(v, unit) {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60000 : n;
}

export function parseWrk(out) {
  const num = (re) => { const m = re.exec(out); return m ? Number(m[1]) : 0; };
  const lat = {};
  for (const m of out.matchAll(/^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$/gm)) lat[m[1]] = toMs(m[2], m[3]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50: lat['50'] ?? NaN,
    p99: lat['99'] ?? NaN,
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    errors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    errorDetail: sock ? sock[0] : '',
  };
}

/** wrk against 127.0.0.1:port with the host-cycling script; args go to the script; scheme 'https' for TLS (wrk resumes no sessions: every connection is a full handshake) */
export function runWrk({ port, connections, seconds, cpu = null, args = ['/1k'], threads = 1, scheme = 'http' }) {
  const wrkArgs = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency', '--timeout', '10s', '-s', SCRIPT, `${scheme}://127.0.0.1:${port}`, '--', ...args];
  const argv = cpu === null ? ['wrk', wrkArgs] : ['taskset', ['-c', String(cpu), 'wrk', ...wrkArgs]];
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv[1], { maxBuffer: 1 << 20, timeout: (seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`wrk failed: ${err.message}\n${stderr}`));
      else resolve({ ...parseWrk(stdout), raw: stdout });
    });
  });
}
