/**
 * What the watchdog thread can know about a process whose event loop has stopped: a
 * heartbeat counter and the last routed request's host and path, in one small
 * SharedArrayBuffer that the main thread writes and the watchdog thread reads. Reading
 * needs no cooperation from the main thread, which is the point: when the watchdog
 * looks, the main thread is stuck. Writes are plain stores (a frozen main thread is not
 * in the middle of one), so the per-request cost is two byte copies and two stores.
 *
 * The Lua layer may say more: `setLine(line)` for the script line it is running, or
 * `onStall(fn)` for a function the watchdog calls on the frozen main thread (through
 * the inspector, between two JS instructions) to ask where the script is.
 */

/** bytes kept of the host and the path (longer ones are truncated) */
export const HOST_MAX = 256;
export const PATH_MAX = 256;
export const FILE_MAX = 512;

/** Int32 slots at the start of the buffer */
export const SLOT = {
  /** bumped by the main thread's heartbeat timer */
  tick: 0,
  /** watchdog.kill_after in ms; 0 = off */
  killAfterMs: 1,
  hostLen: 2,
  pathLen: 3,
  fileLen: 4,
  /** the script line the Lua layer says it is running; 0 = unknown */
  line: 5,
  /** requests routed so far (wraps) */
  requests: 6,
} as const;

const HEADER = 64;
export const HOST_AT = HEADER;
export const PATH_AT = HOST_AT + HOST_MAX;
export const FILE_AT = PATH_AT + PATH_MAX;
export const PROBE_BYTES = FILE_AT + FILE_MAX;

/** the key under which the main thread's stall describer is kept on globalThis */
export const STALL_KEY = 'luaproxy.watchdog.where';

export class WatchdogProbe {
  readonly buffer = new SharedArrayBuffer(PROBE_BYTES);
  private readonly slots = new Int32Array(this.buffer, 0, HEADER / 4);
  private readonly host = new Uint8Array(this.buffer, HOST_AT, HOST_MAX);
  private readonly path = new Uint8Array(this.buffer, PATH_AT, PATH_MAX);
  private readonly file = new Uint8Array(this.buffer, FILE_AT, FILE_MAX);

  /** one request is about to be routed (called just before route(), once per request) */
  request(host: Uint8Array, path: Uint8Array): void {
    const s = this.slots;
    const h = host.length <= HOST_MAX ? host.length : HOST_MAX;
    const p = path.length <= PATH_MAX ? path.length : PATH_MAX;
    this.host.set(h === host.length ? host : host.subarray(0, h));
    this.path.set(p === path.length ? path : path.subarray(0, p));
    s[SLOT.hostLen] = h;
    s[SLOT.pathLen] = p;
    s[SLOT.requests]++;
  }

  /** the live script's file (at start and after every reload) */
  setScript(file: string): void {
    const b = Buffer.from(file, 'utf8');
    const n = Math.min(b.length, FILE_MAX);
    this.file.set(b.subarray(0, n));
    this.slots[SLOT.fileLen] = n;
    this.slots[SLOT.line] = 0;
  }

  /** the script line being run, 0 when unknown (for the Lua layer, if it tracks one) */
  setLine(line: number): void {
    this.slots[SLOT.line] = line;
  }

  /**
   * A function the watchdog calls on the frozen main thread to learn where the script is
   * (e.g. "config.lua:12"); it must only read state, and return quickly. null removes it.
   */
  onStall(describe: (() => string | null) | null): void {
    (globalThis as Record<symbol, unknown>)[Symbol.for(STALL_KEY)] = describe ?? undefined;
  }

  /** the heartbeat: the main thread's loop turned */
  beat(): void {
    Atomics.add(this.slots, SLOT.tick, 1);
  }

  setKillAfter(ms: number): void {
    Atomics.store(this.slots, SLOT.killAfterMs, ms);
  }
}

/** what the watchdog thread reads from the buffer */
export interface ProbeView {
  host: string | null;
  path: string | null;
  script: string | null;
  line: number;
  requests: number;
}

export function readProbe(buffer: SharedArrayBuffer): ProbeView {
  const s = new Int32Array(buffer, 0, HEADER / 4);
  const text = (at: number, len: number, enc: BufferEncoding) => (len > 0 ? Buffer.from(new Uint8Array(buffer, at, len)).toString(enc) : null);
  return {
    // hosts and paths travel as the latin1 bytes route() saw
    host: text(HOST_AT, s[SLOT.hostLen], 'latin1'),
    path: text(PATH_AT, s[SLOT.pathLen], 'latin1'),
    script: text(FILE_AT, s[SLOT.fileLen], 'utf8'),
    line: s[SLOT.line],
    requests: s[SLOT.requests],
  };
}

/** the process's probe: the request path and the Lua layer write here */
export const watchdogProbe = new WatchdogProbe();
