import { describe, it, expect, afterEach } from 'vitest';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { get } from './helpers/http.js';

describe('proxy.log from Lua goes through the proxy logger, tagged with the script\'s file:line', () => {
  let p: TestProxy | null = null;
  afterEach(async () => {
    await p?.close();
    p = null;
  });

  it('logs at the given level with the calling line of config.lua', async () => {
    p = await startProxy([
      'function route(host, path)',
      '  if path == "/warn" then',
      '    proxy.log("warn", "odd request for", host, 42)',
      '  end',
      '  proxy.log("seen " .. path)',
      '  return { status = 204 }',
      'end',
    ].join('\n'));
    // the helper puts `listen = ...` on line 1, so the script's lines are one lower
    expect((await get(p.url + '/warn', { host: 'Odd.Example.com' })).status).toBe(204);
    const warn = p.logs.find((l) => l.msg === 'odd request for odd.example.com 42');
    expect(warn).toMatchObject({ level: 40, script: expect.stringMatching(/(^|\/)config\.lua:4$/) });
    const info = p.logs.find((l) => l.msg === 'seen /warn');
    expect(info).toMatchObject({ level: 30, script: expect.stringMatching(/(^|\/)config\.lua:6$/) });
  });
});
