/**
 * HTTP/2 to a real browser (issue #15): Debian's chromium, headless, driven by
 * playwright-core, loads a page through a TLS listener of the proxy. The page's script,
 * stylesheet, image and a binary blob come from the same origin, so chromium multiplexes
 * them on its one h2 session. The test CA is made at test time; chromium trusts the
 * server certificate by its SPKI pin (`--ignore-certificate-errors-spki-list`), so the
 * handshake is a real one, and `--host-resolver-rules` maps the name to 127.0.0.1.
 * A second listener with `http2 = false` shows the same page over HTTP/1.1, so the h2
 * assertions are not true of any TLS listener.
 * Skipped with a message when /usr/bin/chromium is absent (`apt-get install chromium`;
 * .ci/run installs it on CI). LPX_CHROMIUM names another binary.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash, createPublicKey } from 'node:crypto';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { makeCA, makeCert } from '../src/tls/self-signed.js';
import { startProxy, luaBackends, type TestProxy } from './helpers/proxy.js';
import { startBackend, pattern, type TestBackend } from './helpers/backend.js';

const CHROMIUM = process.env.LPX_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) console.warn(`h2-browser: SKIPPED, ${CHROMIUM} is absent (apt-get install chromium)`);

const NAME = 'shop.example.com';

/** a real PNG of w x h noisy RGB pixels (so it does not compress, and spans many DATA frames) */
function png(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  const noise = pattern(raw.length);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0; // filter: none
    noise.copy(raw, y * (w * 3 + 1) + 1, y * (w * 3 + 1) + 1, (y + 1) * (w * 3 + 1));
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw, { level: 0 })), chunk('IEND', Buffer.alloc(0))]);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const BLOB = pattern(300_000);
const IMAGE = png(160, 120);
const FILES: Record<string, { type: string; body: Buffer }> = {
  '/': {
    type: 'text/html; charset=utf-8',
    body: Buffer.from(`<!doctype html><html><head><title>h2 page</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/style.css">
<script src="/app.js" defer></script></head>
<body><h1 id="t">loading</h1><img id="img" src="/img.png" width="160" height="120"></body></html>`),
  },
  '/style.css': { type: 'text/css', body: Buffer.from('h1 { color: rgb(1, 2, 3); }\n') },
  '/app.js': {
    type: 'application/javascript',
    // the script fetches a binary blob and reports its length and a byte sum, so the page itself checks bytes too
    body: Buffer.from(`window.ran = (async () => {
  const b = new Uint8Array(await (await fetch('/blob.bin')).arrayBuffer());
  let sum = 0; for (const x of b) sum = (sum + x) % 1000000007;
  document.getElementById('t').textContent = 'ran';
  return { length: b.length, sum };
})();\n`),
  },
  '/img.png': { type: 'image/png', body: IMAGE },
  '/blob.bin': { type: 'application/octet-stream', body: BLOB },
};
const blobSum = (() => { let s = 0; for (const x of BLOB) s = (s + x) % 1000000007; return s; })();

interface Loaded {
  navigation: string;
  resources: Array<{ name: string; protocol: string }>;
  bodies: Map<string, Buffer>;
  title: string;
  color: string;
  imageWidth: number;
  fetched: { length: number; sum: number };
  problems: string[];
}

async function load(page: Page, url: string): Promise<Loaded> {
  const problems: string[] = [];
  const bodies = new Map<string, Buffer>();
  const pending: Array<Promise<void>> = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { pending.push(r.body().then((b) => { bodies.set(new URL(r.url()).pathname, b); }, (e: Error) => { problems.push(`body of ${r.url()}: ${e.message}`); })); });
  await page.goto(url, { waitUntil: 'load' });
  const fetched = await page.evaluate(() => (window as unknown as { ran: Promise<{ length: number; sum: number }> }).ran);
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/blob.bin') && (e as PerformanceResourceTiming).responseEnd > 0));
  await Promise.all(pending);
  const timing = await page.evaluate(() => ({
    navigation: (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
    resources: performance.getEntriesByType('resource').map((e) => ({ name: new URL(e.name).pathname, protocol: (e as PerformanceResourceTiming).nextHopProtocol })),
  }));
  return {
    ...timing,
    bodies,
    title: await page.locator('#t').innerText(),
    color: await page.locator('#t').evaluate((e) => getComputedStyle(e).color),
    imageWidth: await page.locator('#img').evaluate((e) => (e as HTMLImageElement).complete ? (e as HTMLImageElement).naturalWidth : -1),
    fetched,
    problems,
  };
}

describe('chromium loads a page through the proxy over HTTP/2', () => {
  let p: TestProxy | null = null;
  let b: TestBackend | null = null;
  let browser: BrowserContext | null = null;
  let profile: string | null = null;
  let h1Port = 0;
  const seen: Array<{ url: string; version: string; proto: string }> = [];

  beforeAll(async () => {
    if (!haveChromium) return;
    const ca = await makeCA();
    const cert = await makeCert({ ca, names: [NAME] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-h2-browser-'));
    fs.writeFileSync(path.join(dir, 'c.pem'), cert.chain ?? cert.cert);
    fs.writeFileSync(path.join(dir, 'c.key'), cert.key);
    b = await startBackend('site', (req, res) => {
      seen.push({ url: req.url!, version: String(req.headers['x-client-http']), proto: String(req.headers['x-forwarded-proto']) });
      const f = FILES[req.url!.split('?')[0]];
      if (!f) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': f.type, 'content-length': f.body.length, 'cache-control': 'no-store' });
      res.end(f.body);
    });
    p = await startProxy(`listen = { { address = "127.0.0.1:0", tls = true }, { address = "127.0.0.1:0", tls = true, http2 = false } }
tls = { certificates = { { cert = "${path.join(dir, 'c.pem')}", key = "${path.join(dir, 'c.key')}" } }, default = "${NAME}" }
${luaBackends([{ name: 'site', url: b.url }])}
function route(host, path, req)
  if host == "${NAME}" then return { backend = "site", headers = { ["x-client-http"] = req.http_version } } end
  return nil
end
`);
    h1Port = p.running.server.addresses()[1]?.address.port ?? 0;
    // chromium accepts the certificate whose public key has this SHA-256 (base64): the SPKI pin
    const spki = createHash('sha256').update(createPublicKey(cert.cert).export({ type: 'spki', format: 'der' })).digest('base64');
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', `--host-resolver-rules=MAP ${NAME} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${spki}`],
      viewport: { width: 800, height: 600 },
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await p?.close();
    await b?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  const check = (got: Loaded, protocol: string, version: string) => {
    expect(got.problems).toEqual([]);
    expect(got.navigation).toBe(protocol);
    const names = got.resources.map((r) => r.name).sort();
    expect(names).toEqual(['/app.js', '/blob.bin', '/img.png', '/style.css']);
    for (const r of got.resources) expect(r.protocol, r.name).toBe(protocol);
    // the script ran, the stylesheet applied, the image decoded, and the bytes are the backend's
    expect(got.title).toBe('ran');
    expect(got.color).toBe('rgb(1, 2, 3)');
    expect(got.imageWidth).toBe(160);
    expect(got.fetched).toEqual({ length: BLOB.length, sum: blobSum });
    for (const [name, f] of Object.entries(FILES)) {
      expect(got.bodies.get(name), `body of ${name}`).toBeDefined();
      expect(sha(got.bodies.get(name)!), `bytes of ${name}`).toBe(sha(f.body));
    }
    // the backend got every request, told by route() which protocol the client spoke
    for (const name of Object.keys(FILES)) {
      const hit = seen.filter((s) => s.url === name && s.version === version);
      expect(hit.length, `${name} over HTTP/${version}`).toBeGreaterThan(0);
      expect(hit.every((s) => s.proto === 'https')).toBe(true);
    }
  };

  it.skipIf(!haveChromium)('negotiates h2 and fetches the page and every sub-resource over it, byte-exact', async () => {
    const page = await browser!.newPage();
    try {
      const got = await load(page, `https://${NAME}:${p!.port}/`);
      check(got, 'h2', '2');
    } finally { await page.close(); }
  });

  it.skipIf(!haveChromium)('the same page on a listener with http2 = false goes over HTTP/1.1 (the h2 assertions are not a given)', async () => {
    expect(h1Port).toBeGreaterThan(0);
    const page = await browser!.newPage();
    try {
      check(await load(page, `https://${NAME}:${h1Port}/`), 'http/1.1', '1.1');
    } finally { await page.close(); }
  });
});
