/**
 * Loads fengari with luaproxy's patches applied to its source.
 *
 * fengari 0.1.5 is dormant upstream, and the places that must be bounded or fixed are
 * module-private functions, so they cannot be wrapped from outside: library loops that
 * run in JS where the count hook never fires (table access through lua_geti/lua_seti,
 * string creation, the pattern matcher, string.format/pack/rep/byte, utf8, os.date), the
 * error path an abort must not stop in (message handlers, pcall), string-size caps, and
 * two bugs (the table-key representation of strings, UTC in os.date). This module
 * applies small textual patches to those files' source as Node compiles them, while
 * fengari loads itself. Every patch must match exactly as many times as it says (once,
 * by default); a fengari that differs from the pinned 0.1.5 makes luaproxy refuse to
 * start rather than run unhardened. The patches are tested in test/lua-budget,
 * lua-abort-*, lua-library-work-bounded and lua-fengari-fixes.
 *
 * The limits live in one shared object (`limits`) that the budget code (budget.ts) sets per call.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export interface VmLimits {
  /** largest string (bytes) that concat, string.rep, gsub, format or table.concat may build */
  maxString: number;
  /** string bytes created in the current call so far (every new Lua string counts), and the cap on that total */
  allocated: number;
  maxAllocated: number;
  /** match() steps allowed for one string.find/match/gmatch/gsub call */
  matchSteps: number;
  /**
   * Work units charged to the current call: VM instructions (from the count hook) plus
   * the work library functions do in JS, where the hook cannot fire (table and string
   * loops, matcher steps, string bytes). When `used` reaches `checkAt`, the patched code
   * calls `check(L)`, which may abort the call.
   */
  used: number;
  checkAt: number;
  check: (L: unknown) => void;
  /** set while a call is being aborted: no message handler runs and no pcall stops the unwinding */
  aborting: boolean;
  /** the CallInfo the host's protected call started from: the one pcall an abort stops at */
  outerCi: unknown;
}

const KEY = Symbol.for('luaproxy.vm.limits');
const g = globalThis as unknown as Record<symbol, VmLimits>;
export const limits: VmLimits = (g[KEY] ??= {
  maxString: 4 << 20,
  allocated: 0,
  maxAllocated: Infinity,
  matchSteps: 200_000,
  used: 0,
  checkAt: Infinity,
  check: () => {},
  aborting: false,
  outerCi: null,
});

const LIMITS_JS = `globalThis[Symbol.for('luaproxy.vm.limits')]`;
/** charge `n` work units from patched fengari code (where `L` is in scope) */
const charge = (n: string, L = 'L') => `if ((LPX.used += ${n}) >= LPX.checkAt) LPX.check(${L});`;

/**
 * `edits` must each match exactly `count` times (default once). `stackPops` is how many
 * `delete L.stack[...]` statements the file has: each becomes a store of undefined.
 * fengari pops its stack with `delete`, which V8 runs through a slow runtime call and
 * which makes the stack array holey; a store reads back the same (undefined) and keeps
 * the array fast. Measured on bench/micro-route.mjs: about a third of a realistic
 * route() call went to those deletes. Every patched file gets a module-level `LPX`
 * bound to the shared limits.
 */
interface Patch { file: string; edits: Array<[string, string] | [string, string, number]>; stackPops?: number }

const STACK_POP = /delete (L\.stack\[[^\]]+\]);/g;

/** one pattern-matcher step: the per-call cap (an ordinary, catchable error) and, every 1024 steps, a charge to the call's budget */
const MATCH_STEP = `if (--ms.steps < 0) luaL_error(ms.L, to_luastring("pattern too complex: over " + LPX.matchSteps + " matching steps")); if ((ms.steps & 1023) === 0) { ${charge('1024', 'ms.L')} }`;

const patches: Patch[] = [
  {
    file: 'lvm.js',
    stackPops: 3,
    edits: [
      [
        'let buff = new Uint8Array(tl);',
        `if (tl > LPX.maxString) ldebug.luaG_runerror(L, to_luastring("string too large: concatenation would build " + tl + " bytes (limit " + LPX.maxString + ")"));
            let buff = new Uint8Array(tl);`,
      ],
      [
        // comparing two long strings byte by byte runs inside one VM instruction
        'return luaS_eqlngstr(t1.tsvalue(), t2.tsvalue()) ? 1 : 0;',
        `${charge('t1.tsvalue().realstring.length >>> 6')} return luaS_eqlngstr(t1.tsvalue(), t2.tsvalue()) ? 1 : 0;`,
      ],
    ],
  },
  {
    file: 'lauxlib.js',
    edits: [[
      'let newsize = Math.max(B.b.length * 2, newend);  /* double buffer size */',
      `if (newend > LPX.maxString) luaL_error(B.L, to_luastring("string too large: would build " + newend + " bytes (limit " + LPX.maxString + ")"));
        let newsize = Math.min(Math.max(B.b.length * 2, newend), Math.max(newend, LPX.maxString));  /* double buffer size */`,
    ]],
  },
  {
    file: 'lstring.js',
    edits: [
      [
        // fengari's string "hash" (the Map key of a string in a table) joined unpadded hex
        // digits, so "\1\35" and "\18\3" were the same table key; one char per byte is
        // injective (latin1 maps each byte to one char), and native for long strings
        '    let s = "|";\n    for (let i=0; i<len; i++)\n        s += str[i].toString(16);\n    return s;',
        '    if (len > 32) return "|" + Buffer.from(str.buffer, str.byteOffset, len).toString("latin1");\n    let s = "|";\n    for (let i=0; i<len; i++)\n        s += String.fromCharCode(str[i]);\n    return s;',
      ],
      [
        // every Lua string is created here: count its bytes against the call's caps
        '    return new TString(L, str);',
        `    LPX.allocated += str.length; LPX.used += str.length >>> 6;
    if (LPX.used >= LPX.checkAt || LPX.allocated > LPX.maxAllocated) LPX.check(L);
    return new TString(L, str);`,
      ],
    ],
  },
  {
    // os.date("!...") printed the "!" and used local time; "*t" already honoured it
    file: 'loslib.js',
    edits: [
      [
        '        strftime(L, b, s, stm);',
        '        if (utc) stm = new Date(stm.getTime() + stm.getTimezoneOffset() * 60000);\n        strftime(L, b, s.subarray(i), stm);',
      ],
      ['    while (i < s.length) {', `    while (i < s.length) { ${charge('4')}`],
    ],
  },
  {
    // the table library loops over lua_geti/lua_seti in JS, where the count hook never fires
    file: 'lapi.js',
    stackPops: 17,
    edits: [
      ['const lua_geti = function(L, idx, n) {', `const lua_geti = function(L, idx, n) { ${charge('1')}`],
      ['const lua_seti = function(L, idx, n) {', `const lua_seti = function(L, idx, n) { ${charge('1')}`],
    ],
  },
  {
    file: 'ldo.js',
    stackPops: 5,
    edits: [
      // an abort runs no message handler, even for a JS error raised while it unwinds
      [
        '                    if (L.errfunc !== 0) {  /* is there an error handling function? */',
        '                    if (L.errfunc !== 0 && !LPX.aborting) {  /* is there an error handling function? */',
      ],
      // an abort is not stopped by the script's pcall/xpcall: each one restores its own
      // state, then passes the error on, up to the host's call
      [
        '        luaD_shrinkstack(L);\n    }\n\n    L.errfunc = old_errfunc;',
        '        luaD_shrinkstack(L);\n        if (LPX.aborting && old_ci !== LPX.outerCi) { L.errfunc = old_errfunc; luaD_throw(L, status); }\n    }\n\n    L.errfunc = old_errfunc;',
      ],
    ],
  },
  {
    file: 'ldebug.js',
    stackPops: 1,
    edits: [[
      '    if (L.errfunc !== 0) {  /* is there an error handling function? */',
      '    if (L.errfunc !== 0 && !LPX.aborting) {  /* is there an error handling function? */',
    ]],
  },
  { file: 'lparser.js', edits: [], stackPops: 1 },
  { file: 'ltm.js', edits: [], stackPops: 1 },
  {
    file: 'lstrlib.js',
    edits: [
      [
        'if (ms.matchdepth-- === 0)\n        luaL_error(ms.L, to_luastring("pattern too complex"));',
        `if (ms.matchdepth-- === 0)
        luaL_error(ms.L, to_luastring("pattern too complex"));
    ${MATCH_STEP}`,
      ],
      ['ms.matchdepth = MAXCCALLS;\n    ms.src = s;', 'ms.matchdepth = MAXCCALLS;\n    ms.steps = LPX.matchSteps;\n    ms.src = s;'],
      // the parts of the matcher that scan many bytes for one step of match()
      ['        while (++s < ms.src_end) {', `        while (++s < ms.src_end) { ${MATCH_STEP}`],
      ['    while (++p < ec) {', `    while (++p < ec) { ${MATCH_STEP}`],
      ['            do {  /* look for a \']\' */', `            do { ${MATCH_STEP} /* look for a ']' */`],
      ['    while (singlematch(ms, s + i, p, ep))\n        i++;', `    while (singlematch(ms, s + i, p, ep)) { i++; ${MATCH_STEP} }`],
      // plain find: fengari's substring search is naive O(n*m); Buffer#indexOf is not
      [
        '    for (; (i = arr.indexOf(subarr[0], i)) !== -1; i++) {\n        if (luastring_eq(arr.subarray(i, i+sl), subarr))\n            return i;\n    }\n\n    return -1;',
        '    return Buffer.from(arr.buffer, arr.byteOffset, arr.length).indexOf(Buffer.from(subarr.buffer, subarr.byteOffset, sl), i);',
      ],
      ['        let f = find_subarray(s.subarray(init - 1), p, 0);', `        ${charge('(ls + lp) >>> 3')}\n        let f = find_subarray(s.subarray(init - 1), p, 0);`],
      ['    while (i < strfrmt.length) {', `    while (i < strfrmt.length) { ${charge('1')}`],
      ['    while (fmt.off < fmt.s.length) {', `    while (fmt.off < fmt.s.length) { ${charge('1')}`, 3],
      // string.rep copied one piece per iteration: 2^31 iterations for an empty string,
      // and slow for short ones; copying by doubling is O(log n) calls (the bytes are
      // charged when the result becomes a string)
      [
        '        while (n-- > 1) {  /* first n-1 copies (followed by separator) */\n            p.set(s, pi);\n            pi += l;\n            if (lsep > 0) {  /* empty \'memcpy\' is not that cheap */\n                p.set(sep, pi);\n                pi += lsep;\n            }\n        }',
        '        const unit = l + lsep, body = (n - 1) * unit;\n        if (body > 0) {\n            p.set(s, 0);\n            if (lsep > 0) p.set(sep, l);\n            for (let done = unit; done < body; done *= 2) p.copyWithin(done, 0, Math.min(done, body - done));\n        }\n        pi = body;',
      ],
      ['    luaL_checkstack(L, n, "string slice too long");\n    for (let i = 0; i < n; i++)', `    ${charge('4 * n')}\n    luaL_checkstack(L, n, "string slice too long");\n    for (let i = 0; i < n; i++)`],
    ],
  },
  {
    // table.unpack pushes every value, and the call that receives them copies them again
    file: 'ltablib.js',
    edits: [['    let n = e - i;  /* number of elements minus 1 (avoid overflows) */', `    let n = e - i;  /* number of elements minus 1 (avoid overflows) */\n    ${charge('4 * n')}`]],
  },
  {
    file: 'lutf8lib.js',
    edits: [
      ['        posi = dec.pos;\n        n++;', `        posi = dec.pos;\n        n++; ${charge('4')}`, 2],
      ['    luaL_argcheck(L, 1 <= posi && --posi <= s.length, 3, "position out of range");', `    ${charge('s.length >>> 3')}\n    luaL_argcheck(L, 1 <= posi && --posi <= s.length, 3, "position out of range");`],
    ],
  },
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
      for (const [from, to, count = 1] of p.edits) {
        const parts = src.split(from);
        if (parts.length - 1 !== count) {
          throw new Error(`luaproxy cannot harden fengari: ${p.file} does not match the pinned fengari 0.1.5 (patch anchor ${JSON.stringify(from.slice(0, 40))} found ${parts.length - 1} times, expected ${count})`);
        }
        src = parts.join(to);
      }
      if (p.stackPops !== undefined) {
        const found = src.match(STACK_POP)?.length ?? 0;
        if (found !== p.stackPops) throw new Error(`luaproxy cannot patch fengari: ${p.file} has ${found} stack pops, not ${p.stackPops} as the pinned fengari 0.1.5`);
        src = src.replace(STACK_POP, '$1 = void 0;');
      }
      src += `\nconst LPX = ${LIMITS_JS};\n`;
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
