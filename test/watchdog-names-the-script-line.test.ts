/**
 * When the loop stalls inside a script (an operator gave it a budget of minutes, and it
 * loops), the watchdog's fatal line names the script line that was running, asked of the
 * frozen main thread, besides the request's host and path.
 */
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import { spawnProxy, type ProxyProcess } from './reliability/lib/proxy-process.js';
import { builtBinaryExists } from './helpers/cluster.js';
import { get } from './helpers/http.js';

describe('the watchdog of a process stalled inside route()', () => {
  let p: ProxyProcess | null = null;
  afterAll(async () => {
    if (!p) return;
    await p.stop();
    fs.rmSync(p.dir, { recursive: true, force: true });
  });

  it('names the script file:line in its fatal line', async () => {
    if (!builtBinaryExists()) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    p = await spawnProxy(`watchdog = { kill_after = 1 }
script = { time = 600, instructions = 2000000000 }
function route(host, path)
  if path == "/spin" then while true do end end
  return { status = 200, body = "ok" }
end
`);
    const proc = p;
    const spinLine = fs.readFileSync(proc.file, 'utf8').split('\n').findIndex((l) => l.includes('while true')) + 1;
    const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
    void get(`${proc.url}/spin`, { host: 'stuck.example', timeoutMs: 10_000 }).catch(() => null);
    const code = await Promise.race([exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 8000))]);
    expect(code).toBe(71);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const fatal = proc.logs.find((l) => l.level === 60);
    expect(fatal, 'no fatal line').toBeDefined();
    expect(fatal).toMatchObject({ host: 'stuck.example', path: '/spin', script: `config.lua:${spinLine}` });
  }, 20_000);
});
