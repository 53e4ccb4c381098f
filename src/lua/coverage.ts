/**
 * Line coverage of scripts, for `luaproxy test --coverage`: which lines of each script
 * file ran, and which lines could have run. A line hook (test mode only; the production
 * path never installs it) records hits per function prototype; the executable lines of
 * a file come from the debug line info of its main chunk and every function nested in
 * it, so a function that never ran still counts against the file.
 */
import { displayPath } from './values.js';

/** fengari's function prototype, as far as coverage reads it */
interface Proto {
  source: { getstr(): Uint8Array } | null;
  lineinfo: number[];
  linedefined: number;
  lastlinedefined: number;
  p: Proto[];
}

export interface FileCoverage {
  /** the file as shown in messages (relative to the working folder when inside it) */
  file: string;
  /** lines that hold code, ascending */
  executable: number[];
  /** executable lines that ran, ascending */
  hit: number[];
}

const decoder = new TextDecoder();

export class LineCoverage {
  /** per source (the '@file' chunk name) the lines that ran */
  private readonly hits = new Map<string, Set<number>>();
  /** per source the executable lines, from its main chunk */
  private readonly lines = new Map<string, Set<number>>();
  private readonly names = new Map<unknown, string | null>();
  private lastProto: Proto | null = null;
  private lastSet: Set<number> | null = null;

  /** the hook body: called by the budget's hook for each LUA_HOOKLINE event */
  readonly onLine = (proto: Proto, line: number): void => {
    if (proto !== this.lastProto) {
      this.lastProto = proto;
      this.lastSet = this.setFor(proto);
    }
    this.lastSet?.add(line);
  };

  private setFor(proto: Proto): Set<number> | null {
    const src = proto.source;
    let name = this.names.get(src);
    if (name === undefined) {
      const text = src ? decoder.decode(src.getstr()) : '';
      name = text.startsWith('@') ? text.slice(1) : null; // chunks from load("...") are not files
      this.names.set(src, name);
    }
    if (name === null) return null;
    if (proto.linedefined === 0 && !this.lines.has(name)) this.lines.set(name, executableLines(proto));
    let set = this.hits.get(name);
    if (!set) this.hits.set(name, (set = new Set()));
    return set;
  }

  /** coverage per file that ran at least its main chunk, sorted by file name */
  report(): FileCoverage[] {
    const out: FileCoverage[] = [];
    for (const [file, exec] of this.lines) {
      const hit = this.hits.get(file) ?? new Set<number>();
      const executable = [...exec].sort((a, b) => a - b);
      out.push({ file: displayPath(file), executable, hit: executable.filter((l) => hit.has(l)) });
    }
    return out.sort((a, b) => a.file.localeCompare(b.file));
  }
}

/**
 * The lines of a chunk that hold instructions. The implicit `return` that Lua adds at a
 * function's `end` is left out when nothing else is on that line: a function that always
 * returns early never reaches it, and no one would call that line untested.
 */
function executableLines(main: Proto): Set<number> {
  const out = new Set<number>();
  const walk = (p: Proto): void => {
    const info = p.lineinfo;
    const last = info.length - 1;
    for (let i = 0; i < info.length; i++) {
      if (i === last && info.indexOf(info[i]) === i && (p.linedefined === 0 || info[i] === p.lastlinedefined)) continue;
      out.add(info[i]);
    }
    for (const c of p.p) walk(c);
  };
  walk(main);
  return out;
}
