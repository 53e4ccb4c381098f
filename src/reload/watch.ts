/**
 * Watches the folders of every file a script loaded. Editors save by writing a new file
 * and renaming it over the old one, which a watch on the file itself would miss, so the
 * folders are watched and events are filtered by name: a loaded file, or any `.lua` file
 * (a module a refused script started to require is not known yet, and a save that
 * changes nothing is skipped by the reloader). A folder holding a symlinked file (a
 * Kubernetes ConfigMap swaps a `..data` link) reacts to any event. A burst of saves
 * becomes one reload after a short quiet period, and never waits longer than maxWaitMs
 * after the first save of the burst.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface FileWatcherOptions {
  /** quiet time after the last event before the change is reported */
  quietMs?: number;
  /** longest time from the first event of a burst to the report */
  maxWaitMs?: number;
}

export class FileWatcher {
  private readonly dirs = new Map<string, fs.FSWatcher>();
  private files = new Set<string>();
  /** folders where any event counts (they hold a symlink to a watched file) */
  private anyEvent = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private burstStart = 0;
  private readonly quietMs: number;
  private readonly maxWaitMs: number;

  constructor(private readonly onChange: () => void, opts: FileWatcherOptions | number = {}) {
    const o = typeof opts === 'number' ? { quietMs: opts } : opts;
    this.quietMs = o.quietMs ?? 150;
    this.maxWaitMs = o.maxWaitMs ?? 1000;
  }

  /** watch exactly these files (replaces the previous set; a pending change still fires) */
  watch(files: Iterable<string>): void {
    this.files = new Set([...files].map((f) => path.resolve(f)));
    const want = new Set<string>();
    this.anyEvent = new Set();
    for (const f of this.files) {
      const dir = path.dirname(f);
      want.add(dir);
      let real = f;
      try { real = fs.realpathSync(f); } catch { /* gone for now: its folder is still watched */ }
      if (real !== f) {
        this.anyEvent.add(dir);
        this.anyEvent.add(path.dirname(real));
        want.add(path.dirname(real));
      }
    }
    for (const [dir, w] of this.dirs) {
      if (want.has(dir)) continue;
      w.close();
      this.dirs.delete(dir);
    }
    for (const dir of want) {
      if (this.dirs.has(dir)) continue;
      try {
        const w = fs.watch(dir, { persistent: false }, (_event, name) => this.event(dir, name === null ? null : name.toString()));
        w.on('error', () => { w.close(); this.dirs.delete(dir); });
        this.dirs.set(dir, w);
      } catch {
        // a folder that vanished: nothing to watch there
      }
    }
  }

  /** the folders being watched */
  get folders(): string[] {
    return [...this.dirs.keys()];
  }

  private event(dir: string, name: string | null): void {
    if (name === null || this.anyEvent.has(dir) || name.endsWith('.lua') || this.files.has(path.join(dir, name))) this.kick();
  }

  private kick(): void {
    const now = Date.now();
    if (this.timer) clearTimeout(this.timer);
    else this.burstStart = now;
    const wait = Math.max(0, Math.min(this.quietMs, this.burstStart + this.maxWaitMs - now));
    this.timer = setTimeout(() => { this.timer = null; this.onChange(); }, wait);
  }

  close(): void {
    for (const w of this.dirs.values()) w.close();
    this.dirs.clear();
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  }
}
