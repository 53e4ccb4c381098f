/**
 * `luaproxy push --backends` doubles the backend list (4 to 8) under keep-alive load on
 * all three instances: 0 failed requests, the new list live everywhere, the share of
 * sample hosts that move close to 1/2 (proxy.hash moves about k/(n+k)), and every
 * instance routes alike afterwards.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { etcdMissing, type TestEtcd } from './helpers/etcd.js';
import type { TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { ask } from './helpers/reload.js';
import { scriptDir, startInstance, cli, routeHosts, until, fleetSetup, fleetTeardown, type TestInstance } from './helpers/fleet.js';

describe.skipIf(etcdMissing)('a pushed backend list', () => {
  let etcd: TestEtcd;
  let bs: TestBackend[] = [];
  let fleet: TestInstance[] = [];
  const prefix = '/backends/';
  beforeAll(async () => ({ etcd, bs } = await fleetSetup(['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8'])));
  afterAll(() => fleetTeardown(etcd, bs, fleet));

  it('goes from 4 to 8 backends on all three instances under keep-alive load with 0 failures, moving about half the hosts', async () => {
    const dir = scriptDir({ 'config.lua': `${luaBackends(bs.slice(0, 4))}function route(h, p) return proxy.hash(h) end\n` });
    expect((await cli('push', path.join(dir, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    fleet = await Promise.all([1, 2, 3].map((n) => startInstance(etcd.url, prefix, { id: `i${n}` })));

    // keep-alive load on every instance, 4 connections each, until told to stop
    let stop = false;
    let ok = 0;
    let reused = 0;
    const failures: string[] = [];
    const agents = fleet.map(() => new http.Agent({ keepAlive: true, maxSockets: 4 }));
    const loops = fleet.flatMap((f, i) => [0, 1, 2, 3].map(async (w) => {
      for (let k = 0; !stop && k < 100_000; k++) {
        const host = `app${(k * 4 + w) % 120}.example.net`;
        try {
          const r = await ask(f.port, { host, agent: agents[i] });
          if (r.reused) reused++;
          if (r.status === 200) ok++;
          else failures.push(`${f.id} ${host}: ${r.status}`);
        } catch (e) {
          failures.push(`${f.id} ${host}: ${(e as Error).message}`);
        }
      }
    }));
    await until(() => ok > 300, 10_000, 'load to be running');

    const list = bs.map((b) => ({ name: b.name, url: b.url, weight: 1 }));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-b-')), 'backends.json');
    fs.writeFileSync(file, JSON.stringify(list, null, 2));
    const pushed = await cli('push', '--backends', file, '--etcd', etcd.url, '--etcd-prefix', prefix);
    expect(pushed.err).toBe('');
    expect(pushed.code).toBe(0);
    const share = Number(/; ([\d.]+)% of 10000 sample hosts move/.exec(pushed.out)![1]) / 100;
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);
    const rev = Number(/published revision (\d+)/.exec(pushed.out)![1]);
    await until(() => fleet.every((f) => f.live.revision === rev), 3000, 'the backend list on all three');
    const okAtSwitch = ok;
    await until(() => ok > okAtSwitch + 300, 10_000, 'load after the switch');
    stop = true;
    await Promise.all(loops);
    for (const a of agents) a.destroy();

    expect(failures).toEqual([]);
    expect(reused).toBeGreaterThan(ok / 2); // keep-alive: most requests rode a connection that served one before
    for (const f of fleet) {
      expect(f.running.config.backends.map((b) => b.name)).toEqual(list.map((b) => b.name));
      const r = f.running.reloader.last!;
      expect(r.ok).toBe(true);
      // the instance's own dry run on its recent traffic saw about half of its hosts move
      expect(r.moved!).toBeGreaterThan(0.25);
      expect(r.moved!).toBeLessThan(0.75);
    }
    const routes = fleet.map((f) => routeHosts(f, 10_000));
    expect(new Set(routes[0]).size).toBe(8);
    expect(routes[1]).toEqual(routes[0]);
    expect(routes[2]).toEqual(routes[0]);
    // and the new backends take requests through the sockets
    const seen = new Set<string | null>();
    for (let k = 0; k < 80; k++) seen.add((await ask(fleet[k % 3].port, { host: `s${k}.example.org` })).backend);
    expect(seen.has('b8') || seen.has('b7') || seen.has('b6') || seen.has('b5')).toBe(true);
  });

  it('refuses a backend list that is not a list, naming the file, and writes nothing', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-b-')), 'bad.json');
    fs.writeFileSync(file, JSON.stringify([{ name: 'x', url: 'localhost' }]));
    const r = await cli('push', '--backends', file, '--etcd', etcd.url, '--etcd-prefix', prefix);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.json: backends\[1\]\.url: expected "http:\/\/host:port", got "localhost"/);
    expect(r.err).toContain('nothing was published');
  });
});
