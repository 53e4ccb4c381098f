/**
 * Graceful shutdown of the real CLI (bin/luaproxy.js, built into dist/ by `npm run
 * build`): on SIGTERM or SIGINT it stops accepting, lets in-flight requests finish,
 * closes idle keep-alive connections, and exits 0; past timeouts.shutdown it closes
 * what is left and still exits 0.
 */
import { describe, it, expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { startBackend, deadPort } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin', 'luaproxy.js');

async function runProxy(script: string): Promise<{ child: ChildProcess; port: number; out: () => string; exited: Promise<number | null> }> {
  expect(fs.existsSync(path.join(root, 'dist', 'cli.js')), 'dist/ is missing: run `npm run build` first').toBe(true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-shutdown-'));
  const port = await deadPort();
  fs.writeFileSync(path.join(dir, 'config.lua'), `listen = "127.0.0.1:${port}"\n${script}`);
  const child = spawn(process.execPath, [bin, 'run', '--json', '--no-watch', path.join(dir, 'config.lua')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const t0 = Date.now();
  while (!/luaproxy listening/.test(out)) {
    if (Date.now() - t0 > 15_000 || child.exitCode !== null) { child.kill('SIGKILL'); throw new Error(`the proxy did not start:\n${out}`); }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { child, port, out: () => out, exited };
}

function request(port: number, urlPath: string, agent: http.Agent | false): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent, headers: { host: 'x' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    }).on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

describe('graceful shutdown of bin/luaproxy.js', () => {
  it('on SIGTERM stops accepting, finishes the in-flight request, closes idle keep-alive, exits 0', async () => {
    const a = await startBackend('a');
    const p = await runProxy(luaBackends([a]) + 'timeouts = { shutdown = 10 }\nfunction route(host, path) return "a" end');
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      expect(await request(p.port, '/', agent)).toMatchObject({ status: 200 });
      const idle = [...Object.values(agent.freeSockets)].flat()[0]!;
      expect(idle).toBeDefined();
      const idleClosed = new Promise<void>((r) => idle.once('close', () => r()));
      let settled = false;
      const inflight = request(p.port, '/slow?ms=1500', false).finally(() => { settled = true; });
      await new Promise((r) => setTimeout(r, 200)); // it reached the backend
      const t0 = Date.now();
      p.child.kill('SIGTERM');
      await idleClosed;
      // the listener closes right after the idle connections (a connect may still slip in between)
      let refused = false;
      for (let i = 0; i < 40 && !refused; i++) {
        refused = !(await connects(p.port));
        if (!refused) await new Promise((r) => setTimeout(r, 20));
      }
      expect(refused).toBe(true);
      expect(settled).toBe(false); // stopped accepting while the request was still in flight
      const r = await inflight;
      expect(r).toMatchObject({ status: 200 });
      expect(JSON.parse((r as { body: string }).body).url).toBe('/slow?ms=1500');
      expect(await p.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(9000); // well before the 10 s deadline
      expect(p.out()).toMatch(/all requests finished/);
      agent.destroy();
    } finally {
      p.child.kill('SIGKILL');
      await a.close();
    }
  });

  it('on SIGINT past timeouts.shutdown closes the stuck request and still exits 0', async () => {
    const a = await startBackend('a');
    const p = await runProxy(luaBackends([a]) + 'timeouts = { shutdown = 0.5 }\nfunction route(host, path) return "a" end');
    try {
      const stuck = request(p.port, '/stall', false);
      await new Promise((r) => setTimeout(r, 200));
      p.child.kill('SIGINT');
      expect(await p.exited).toBe(0);
      expect(await stuck).toHaveProperty('error');
      expect(p.out()).toMatch(/shutdown deadline passed/);
    } finally {
      p.child.kill('SIGKILL');
      await a.close();
    }
  });
});
