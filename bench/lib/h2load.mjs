// Runs h2load (Debian's nghttp2-client) for a fixed time and parses its report into the
// same shape as wrk.mjs: requests done, requests/s, errors and non-2xx/3xx answers.
// h2load reports no latency percentiles, only min/max/mean per request: p50 and p99 are
// left out (NaN) and the mean is given as `mean`.
import { execFile } from 'node:child_process';

function toMs(v, unit) {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

export function parseH2load(out) {
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const st = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const rate = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out);
  const mean = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\b/.exec(out);
  if (!req || !st) throw new Error(`h2load output not understood:\n${out}`);
  const n = (m, i) => Number(m[i]);
  return {
    protocol: /Application protocol: (\S+)/.exec(out)?.[1] ?? '',
    requests: n(req, 3),
    rps: rate ? Number(rate[1]) : 0,
    p50: NaN,
    p99: NaN,
    mean: mean ? toMs(mean[1], mean[2]) : NaN,
    non2xx: n(st, 3) + n(st, 4), // 4xx and 5xx, as wrk counts "non-2xx or 3xx"
    errors: n(req, 5) + n(req, 6) + n(req, 7),
    errorDetail: `${n(req, 5)} failed, ${n(req, 6)} errored, ${n(req, 7)} timeout`,
  };
}

/** h2load against https://127.0.0.1:port for `seconds`: `connections` connections of `streams` concurrent streams each, one thread */
export function runH2load({ port, connections, streams = 10, seconds, cpu = null, path = '/1k', host = 'localhost' }) {
  // the certificate's name as :authority and SNI; the connection goes to 127.0.0.1
  const args = ['-t', '1', '-c', String(connections), '-m', String(streams), '-D', String(seconds), `--connect-to=127.0.0.1:${port}`, `https://${host}:${port}${path}`];
  const argv = cpu === null ? ['h2load', args] : ['taskset', ['-c', String(cpu), 'h2load', ...args]];
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv[1], { maxBuffer: 1 << 20, timeout: (seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) { reject(new Error(`h2load failed: ${err.message}\n${stderr}`)); return; }
      try {
        const r = parseH2load(stdout);
        if (r.protocol !== 'h2') throw new Error(`h2load did not negotiate h2 (${r.protocol || 'nothing'}):\n${stdout}`);
        resolve({ ...r, raw: stdout });
      } catch (e) { reject(e); }
    });
  });
}
