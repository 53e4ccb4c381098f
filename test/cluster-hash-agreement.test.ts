import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Scale-out past one machine: separate luaproxy processes with the same script must send
// every host to the same backend with no coordination. Each process here routes the
// hosts in a different order, with a different V8 hash seed, so no shared or
// order-dependent state can make them agree by accident.
const RUNNER = `
import { loadConfig } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/config/load.js')).href)};
const [file, order] = process.argv.slice(2);
const cfg = loadConfig(file);
const hosts = Array.from({ length: 10000 }, (_, i) => 'app' + i + '.example.com');
const idx = order === 'reverse' ? hosts.map((_, i) => hosts.length - 1 - i) : hosts.map((_, i) => i);
const out = new Array(hosts.length);
for (const i of idx) {
  const o = cfg.route(Buffer.from(hosts[i], 'latin1'), Buffer.from('/'), null);
  out[i] = o.kind === 'backend' ? o.name : o.kind;
}
process.stdout.write(JSON.stringify(out));
`;

function run(args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 16 << 20, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))));
  });
}

describe('consistent hashing across separate processes', () => {
  it('sends each of 10,000 hosts to the same backend in two processes with the same script', async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist/config/load.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-hash-'));
    try {
      const file = path.join(dir, 'config.lua');
      fs.writeFileSync(file, `listen = "127.0.0.1:0"
backends = {
  { name = "web1", url = "http://10.0.0.1:8000" }, { name = "web2", url = "http://10.0.0.2:8000" },
  { name = "web3", url = "http://10.0.0.3:8000", weight = 2 }, { name = "web4", url = "http://10.0.0.4:8000" },
  { name = "web5", url = "http://10.0.0.5:8000" },
}
function route(host, path) return proxy.hash(host) end
`);
      const runner = path.join(dir, 'route-hosts.mjs');
      fs.writeFileSync(runner, RUNNER);
      const [a, b] = await Promise.all([run([runner, file, 'forward']), run(['--hash-seed=4242', runner, file, 'reverse'])]);
      expect(a).toHaveLength(10_000);
      expect(b).toEqual(a);
      // and the hash really spreads: every backend gets hosts
      expect(new Set(a)).toEqual(new Set(['web1', 'web2', 'web3', 'web4', 'web5']));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
