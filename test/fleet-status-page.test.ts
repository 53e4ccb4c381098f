/**
 * The status page of a fleet instance, in a real browser (Debian's chromium, headless;
 * skipped when it is absent): a Fleet section with every registered instance, its version
 * and whether they agree. A single proxy's page has no such section.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { startEtcd, etcdMissing, type TestEtcd } from './helpers/etcd.js';
import { startBackend, type TestBackend } from './helpers/backend.js';
import { luaBackends } from './helpers/proxy.js';
import { scriptDir, startInstance, cli, until, type TestInstance } from './helpers/fleet.js';

const CHROMIUM = process.env.LPX_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);

describe.skipIf(etcdMissing || !haveChromium)('the status page of a fleet instance', () => {
  let etcd: TestEtcd;
  let a: TestBackend;
  let fleet: TestInstance[] = [];
  let browser: BrowserContext | null = null;
  let profile = '';
  const prefix = '/page/';
  beforeAll(async () => { etcd = await startEtcd(); a = await startBackend('a'); });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(fleet.map((f) => f.stop(1000)));
    await etcd?.stop();
    await a?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  it('shows every instance of the fleet and that they agree', async () => {
    const dir = scriptDir({ 'config.lua': `${luaBackends([a])}function route(h, p) return "a" end\n` });
    expect((await cli('push', path.join(dir, 'config.lua'), '--etcd', etcd.url, '--etcd-prefix', prefix)).code).toBe(0);
    fleet = await Promise.all([1, 2].map((n) => startInstance(etcd.url, prefix, { id: `edge${n}`, admin: n === 1 })));
    await until(async () => (await cli('status', '--etcd', etcd.url, '--etcd-prefix', prefix)).code === 0, 3000, 'both registered');

    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = browser.pages()[0] ?? await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${fleet[0].running.admin!.address!.port}/`);
    const rows = page.locator('#instances tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator('#fleet').isVisible()).toBe(true);
    expect(await rows.nth(0).innerText()).toMatch(new RegExp(`edge1[\\s\\S]*${fleet[0].live.hash}`));
    expect(await rows.nth(1).innerText()).toContain('edge2');
    expect(await page.locator('#fleetstate').innerText()).toContain('/page/ · in step with etcd');
    expect(await page.locator('#fleetverdict').innerText()).toBe('Every instance serves the version etcd holds.');
    expect(problems).toEqual([]);
  });
});
