/**
 * The package installs and runs like a real CLI: `npm pack` makes a tarball that, once
 * installed with no dev dependencies in an empty folder, gives a working
 * `npx luaproxy --help` / `--version`, an `init` + `check` that run the Lua VM, the
 * LuaLS stubs, and an ESM entry point with type declarations. Needs the npm registry
 * (or a warm npm cache) and a built dist/ (`npm run build`; `npm test` does it).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };

interface Run { code: number; stdout: string; stderr: string }

/** npm settings inherited from a surrounding `npm test` must not leak into the install */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return env;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: cleanEnv(), timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) || 1 : 0, stdout, stderr });
    });
  });
}

describe('npm pack -> install in an empty folder without dev dependencies', () => {
  let tmp: string;
  let app: string;
  let tarball: string;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-pack-'));
    // dist/ is already built; --ignore-scripts keeps `prepare` from rebuilding it mid-test
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT);
    expect(packed.code, packed.stderr).toBe(0);
    const info = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(tmp, info[0].filename);
    app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'lpx-pack-probe', version: '1.0.0', private: true, type: 'module' }));
    const installed = await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], app, 90_000);
    expect(installed.code, installed.stderr).toBe(0);
  }, 120_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('ships dist, bin, lua stubs, docs and examples, and no tests or sources', async () => {
    const list = await run('tar', ['-tzf', tarball], tmp);
    const files = list.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['bin/luaproxy.js', 'dist/cli.js', 'dist/index.js', 'dist/index.d.ts', 'lua/meta/proxy.lua', 'lua/meta/luaproxy.lua', 'docs/lua-api.md', 'examples/.luarc.json', 'examples/systemd/luaproxy.service', 'README.md', 'package.json']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(test|src|bench)\//.test(f) || f.endsWith('.map'))).toEqual([]);
  });

  it('installs only the runtime dependencies', () => {
    const nm = path.join(app, 'node_modules');
    expect(fs.existsSync(path.join(nm, 'luaproxy/package.json'))).toBe(true);
    for (const dep of Object.keys(pkg.dependencies)) expect(fs.existsSync(path.join(nm, dep)), dep).toBe(true);
    for (const dev of ['vitest', 'typescript', 'playwright-core']) expect(fs.existsSync(path.join(nm, dev)), dev).toBe(false);
    // @types/node is a dev dependency of ours, but protobufjs (etcd3 -> @grpc/proto-loader) depends on it at run time:
    // it may be there only because a runtime package asks for it
    if (fs.existsSync(path.join(nm, '@types/node'))) {
      const askedBy = fs.readdirSync(nm, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('package.json') && !f.includes('@types'))
        .filter((f) => { try { return '@types/node' in (JSON.parse(fs.readFileSync(path.join(nm, f), 'utf8')).dependencies ?? {}); } catch { return false; } });
      expect(askedBy.length, '@types/node without a runtime package that depends on it').toBeGreaterThan(0);
    }
  });

  it('npx luaproxy --help and --version work', async () => {
    const help = await run('npx', ['--no-install', 'luaproxy', '--help'], app);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: luaproxy /m);
    const version = await run('npx', ['--no-install', 'luaproxy', '--version'], app);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('npx luaproxy init writes a config that npx luaproxy check accepts, with stubs the editor can find', async () => {
    const init = await run('npx', ['--no-install', 'luaproxy', 'init', 'site'], app);
    expect(init.code, init.stderr).toBe(0);
    const check = await run('npx', ['--no-install', 'luaproxy', 'check', 'site/config.lua'], app);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/site\/config\.lua: ok/);
    const rc = JSON.parse(fs.readFileSync(path.join(app, 'site/.luarc.json'), 'utf8')) as { workspace: { library: string[] } };
    const lib = path.resolve(app, 'site', rc.workspace.library[0]);
    expect(fs.existsSync(path.join(lib, 'proxy.lua')), lib).toBe(true);
    expect(path.isAbsolute(rc.workspace.library[0])).toBe(false); // inside the project: relative, so the folder can move
  });

  it('the ESM entry point loads and its type declarations resolve', async () => {
    const probe = path.join(app, 'probe.mjs');
    fs.writeFileSync(probe, "import * as lpx from 'luaproxy';\nconsole.log(Object.keys(lpx).sort().join(','));\n");
    const r = await run(process.execPath, [probe], app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split(',')).toEqual(expect.arrayContaining(['loadConfig', 'start', 'LpxError', 'defaults', 'loadRouting', 'runTests']));

    fs.writeFileSync(path.join(app, 'probe.ts'), [
      "import { loadConfig, isLpxError, loadRouting, type Config, type RouteResult } from 'luaproxy';",
      "const cfg: Config = loadConfig('site/config.lua');",
      'const n: number = cfg.listen.port;',
      "const r: RouteResult = loadRouting('site/config.lua').route('shop.example.com', '/');",
      "export const ok: boolean = isLpxError(new Error('x')) || n > 0 || r.kind === 'backend';",
      "// @ts-expect-error: the declarations are real, so a wrong type is an error",
      "export const bad: string = cfg.listen.port;",
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [], typeRoots: [path.join(ROOT, 'node_modules/@types')] },
      files: ['probe.ts'],
    }));
    const tsc = await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
  });
});
