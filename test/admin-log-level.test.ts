import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { start, type Running } from '../src/app.js';
import { createLogger } from '../src/core/logger.js';
import { get } from './helpers/http.js';

describe('the log.level setting', () => {
  let running: Running | null = null;
  afterEach(async () => {
    await running?.stop(2000);
    running = null;
  });

  it('applies the script\'s log.level at start and follows it on reload', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-loglevel-'));
    const file = path.join(dir, 'config.lua');
    const script = (level: string) => `listen = "127.0.0.1:0"\nlog = { level = "${level}" }\nfunction route(h, p) proxy.log("warn", "w " .. p) proxy.log("debug", "d " .. p) return { status = 200, body = "ok" } end\n`;
    fs.writeFileSync(file, script('warn'));
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write(c, _e, cb) { for (const l of c.toString().split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
    // the logger starts at info, as the CLI's does without --log-level
    const log = createLogger({ level: 'info', destination: sink });
    running = await start({ file, log, watch: false, followLogLevel: true });
    const url = `http://127.0.0.1:${running.address.port}`;

    await get(url + '/one', { host: 'a.example.com' });
    expect(lines.some((l) => l.msg === 'w /one')).toBe(true);
    expect(lines.some((l) => l.msg === 'request' || l.msg === 'd /one')).toBe(false);
    expect(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('luaproxy listening'))).toBe(false);

    fs.writeFileSync(file, script('debug'));
    expect((await running.reloader.reload('test')).ok).toBe(true);
    await get(url + '/two', { host: 'a.example.com' });
    expect(lines.some((l) => l.msg === 'd /two' && l.level === 20)).toBe(true);
    expect(lines.some((l) => l.msg === 'request' && l.path === '/two')).toBe(true);
  });
});
