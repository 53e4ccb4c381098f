/**
 * Loads fengari with luaproxy's patches applied to its source.
 *
 * fengari 0.1.5 is dormant upstream, and the places that must be bounded (string
 * concatenation in the VM, the auxiliary string buffer, the pattern matcher) or fixed
 * (the table-key representation of strings, UTC in os.date) are module-private functions, so they
 * cannot be wrapped from outside. Instead this module applies small textual patches to
 * those files' source as Node compiles them, while fengari loads itself. Every patch
 * must match exactly once; a fengari that differs from the pinned 0.1.5 makes luaproxy
 * refuse to start rather than run unhardened. Each patch has a test:
 * test/lua-budget.test.ts and test/lua-fengari-fixes.test.ts.
 *
 * The limits live in one shared object (`limits`) that the budget code resets per call.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export interface VmLimits {
  /** largest string (bytes) that concat, string.rep, gsub, format or table.concat may build */
  maxString: number;
  /** string bytes built in the current call so far, and the cap on that total */
  allocated: number;
  maxAllocated: number;
  /** match() steps allowed for one string.find/match/gmatch/gsub call */
  matchSteps: number;
}

const KEY = Symbol.for('luaproxy.vm.limits');
const g = globalThis as unknown as Record<symbol, VmLimits>;
export const limits: VmLimits = (g[KEY] ??= {
  maxString: 4 << 20,
  allocated: 0,
  maxAllocated: 64 << 20,
  matchSteps: 200_000,
});

const LIMITS_JS = `globalThis[Symbol.for('luaproxy.vm.limits')]`;

/**
 * `edits` must each match exactly once. `stackPops` is how many `delete L.stack[...]`
 * statements the file has: each becomes a store of undefined. fengari pops its stack with
 * `delete`, which V8 runs through a slow runtime call and which makes the stack array
 * holey; a store reads back the same (undefined) and keeps the array fast. Measured on
 * bench/micro-route.mjs: about a third of a realistic route() call went to those deletes.
 */
interface Patch { file: string; edits: Array<[string, string]>; stackPops?: number }

const STACK_POP = /delete (L\.stack\[[^\]]+\]);/g;

const patches: Patch[] = [
  {
    file: 'lvm.js',
    stackPops: 3,
    edits: [[
      'let buff = new Uint8Array(tl);',
      `{ const LPX = ${LIMITS_JS}; LPX.allocated += tl;
         if (tl > LPX.maxString) ldebug.luaG_runerror(L, to_luastring("string too large: concatenation would build " + tl + " bytes (limit " + LPX.maxString + ")"));
         if (LPX.allocated > LPX.maxAllocated) ldebug.luaG_runerror(L, to_luastring("script built more than " + LPX.maxAllocated + " bytes of strings in one call")); }
            let buff = new Uint8Array(tl);`,
    ]],
  },
  {
    file: 'lauxlib.js',
    edits: [[
      'let newsize = Math.max(B.b.length * 2, newend);  /* double buffer size */',
      `{ const LPX = ${LIMITS_JS};
          if (newend > LPX.maxString) luaL_error(B.L, to_luastring("string too large: would build " + newend + " bytes (limit " + LPX.maxString + ")"));
          LPX.allocated += newend - B.b.length;
          if (LPX.allocated > LPX.maxAllocated) luaL_error(B.L, to_luastring("script built more than " + LPX.maxAllocated + " bytes of strings in one call")); }
        let newsize = Math.min(Math.max(B.b.length * 2, newend), Math.max(newend, ${LIMITS_JS}.maxString));  /* double buffer size */`,
    ]],
  },
  {
    // fengari's string "hash" (the Map key of a string in a table) joined unpadded hex
    // digits, so "\1\35" and "\18\3" were the same table key; one char per byte is injective
    file: 'lstring.js',
    edits: [[
      '        s += str[i].toString(16);',
      '        s += String.fromCharCode(str[i]);',
    ]],
  },
  {
    // os.date("!...") printed the "!" and used local time; "*t" already honoured it
    file: 'loslib.js',
    edits: [[
      '        strftime(L, b, s, stm);',
      '        if (utc) stm = new Date(stm.getTime() + stm.getTimezoneOffset() * 60000);\n        strftime(L, b, s.subarray(i), stm);',
    ]],
  },
  {
    file: 'lstrlib.js',
    edits: [
      [
        'if (ms.matchdepth-- === 0)\n        luaL_error(ms.L, to_luastring("pattern too complex"));',
        `if (ms.matchdepth-- === 0)
        luaL_error(ms.L, to_luastring("pattern too complex"));
    if (--ms.steps < 0)
        luaL_error(ms.L, to_luastring("pattern too complex: over " + ${LIMITS_JS}.matchSteps + " matching steps"));`,
      ],
      [
        'ms.matchdepth = MAXCCALLS;\n    ms.src = s;',
        `ms.matchdepth = MAXCCALLS;\n    ms.steps = ${LIMITS_JS}.matchSteps;\n    ms.src = s;`,
      ],
    ],
  },
  { file: 'lapi.js', edits: [], stackPops: 17 },
  { file: 'ldo.js', edits: [], stackPops: 5 },
  { file: 'ldebug.js', edits: [], stackPops: 1 },
  { file: 'lparser.js', edits: [], stackPops: 1 },
  { file: 'ltm.js', edits: [], stackPops: 1 },
];

function loadPatched(): unknown {
  const dir = path.dirname(require.resolve('fengari/src/fengari.js'));
  const byFile = new Map(patches.map((p) => [path.join(dir, p.file), p]));
  const proto = (require('node:module') as { prototype: { _compile(src: string, file: string): unknown } }).prototype;
  const original = proto._compile;
  const applied = new Set<string>();
  // Substitute the patched source while fengari loads itself, so its own
  // (circular) require order stays exactly as upstream wrote it.
  proto._compile = function (this: unknown, src: string, file: string) {
    const p = byFile.get(file);
    if (p) {
      for (const [from, to] of p.edits) {
        const at = src.indexOf(from);
        if (at < 0 || src.indexOf(from, at + 1) >= 0) {
          throw new Error(`luaproxy cannot harden fengari: ${p.file} does not match the pinned fengari 0.1.5 (patch anchor ${JSON.stringify(from.slice(0, 40))})`);
        }
        src = src.slice(0, at) + to + src.slice(at + from.length);
      }
      if (p.stackPops !== undefined) {
        const found = src.match(STACK_POP)?.length ?? 0;
        if (found !== p.stackPops) throw new Error(`luaproxy cannot patch fengari: ${p.file} has ${found} stack pops, not ${p.stackPops} as the pinned fengari 0.1.5`);
        src = src.replace(STACK_POP, '$1 = void 0;');
      }
      applied.add(file);
    }
    return original.call(this, src, file);
  };
  try {
    const f = require('fengari');
    require('fengari/src/lstrlib.js');
    for (const file of byFile.keys()) {
      if (!applied.has(file)) throw new Error(`luaproxy cannot harden fengari: ${path.basename(file)} was loaded before the patches could apply`);
    }
    return f;
  } finally {
    proto._compile = original;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const fengari = loadPatched() as Any;

export const lua = fengari.lua as Any;
export const lauxlib = fengari.lauxlib as Any;
export const lualib = fengari.lualib as Any;
export const to_luastring = fengari.to_luastring as (s: string, cache?: boolean) => Uint8Array;
export const to_jsstring = fengari.to_jsstring as (u: Uint8Array) => string;
const lstrlib = require('fengari/src/lstrlib.js') as Any;
const lbaselib = require('fengari/src/lbaselib.js') as Any;
const lmathlib = require('fengari/src/lmathlib.js') as Any;
const ltablib = require('fengari/src/ltablib.js') as Any;
const lutf8lib = require('fengari/src/lutf8lib.js') as Any;
export const openers = {
  base: lbaselib.luaopen_base,
  string: lstrlib.luaopen_string,
  table: ltablib.luaopen_table,
  math: lmathlib.luaopen_math,
  utf8: lutf8lib.luaopen_utf8,
} as Record<string, (L: Any) => number>;

export type LuaState = Any;
