/**
 * The status page in a real browser: Debian's chromium, headless, driven by
 * playwright-core. Skipped with a message when /usr/bin/chromium is absent
 * (`apt-get install chromium`; .ci/run installs it on CI). LPX_CHROMIUM names another binary.
 */
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { startBackend, deadPort, type TestBackend } from './helpers/backend.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';
import { ADMIN_ON_LOOPBACK, adminUrl, post } from './helpers/admin.js';

const CHROMIUM = process.env.LPX_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) console.warn(`admin-page-browser: SKIPPED, ${CHROMIUM} is absent (apt-get install chromium)`);

describe('the status page in a real browser', () => {
  let a: TestBackend | null = null;
  let p: TestProxy | null = null;
  let browser: BrowserContext | null = null;
  let profile: string | null = null;
  afterEach(async () => {
    await browser?.close();
    await p?.close();
    await a?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    browser = p = a = null;
    profile = null;
  });

  it.skipIf(!haveChromium)('shows backends with health, recent errors and reloads, refreshes by itself, and drains a backend', async () => {
    a = await startBackend('a');
    const dead = await deadPort();
    const script = ADMIN_ON_LOOPBACK + luaBackends([{ name: 'alpha', url: a.url }, { name: 'beta', url: `http://127.0.0.1:${dead}` }])
      + 'retries = { connect = 0 }\nfunction route(h, p) if p == "/beta" then return "beta" end return "alpha" end\n';
    p = await startProxy(script);
    for (let i = 0; i < 5; i++) await get(p.url + '/', { host: 'www.example.com' });
    expect((await get(p.url + '/beta', { host: 'shop.example.com' })).status).toBe(502);

    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    const page = browser.pages()[0] ?? await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });

    await page.goto(adminUrl(p) + '/');
    const rows = page.locator('#backends tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    expect(await rows.nth(0).innerText()).toMatch(/up[\s\S]*alpha/);
    expect(await page.locator('#errors').innerText()).toMatch(/502[\s\S]*LPX_UPSTREAM_REFUSED[\s\S]*shop\.example\.com\/beta/);
    expect(await page.locator('#reloads').innerText()).toContain('no reloads since start');

    // a refused reload after the page loaded shows up without navigating
    p.write(script + 'function route(h, p) return "alpha" ) end\n');
    expect((await post(p, '/reload')).status).toBe(422);
    await expect.poll(() => page.locator('#reloads').innerText(), { timeout: 10_000 }).toMatch(/admin[\s\S]*refused/);
    await expect.poll(() => page.locator('#banner').isVisible(), { timeout: 10_000 }).toBe(true);

    // the request rate column fills in from the second poll on
    for (let i = 0; i < 10; i++) await get(p.url + '/', { host: 'www.example.com' });
    await expect.poll(async () => (await rows.nth(0).innerText()).includes('…'), { timeout: 10_000 }).toBe(false);

    await rows.nth(1).getByRole('button', { name: 'Drain' }).click();
    await expect.poll(() => rows.nth(1).innerText(), { timeout: 10_000 }).toMatch(/drained/);
    expect(p.running.config.backendSet.byName.get('beta')!.drained).toBe(true);

    await page.screenshot({ path: path.join(os.tmpdir(), 'luaproxy-status-page.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
