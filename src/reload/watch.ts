/**
 * Watches the folders of every file a script loaded. Editors save by writing a new file
 * and renaming it over the old one, which a watch on the file itself would miss, so the
 * folders are watched and events are filtered by name. A burst of saves becomes one
 * reload after a short quiet period.
 */
import fs from 'node:fs';
import path from 'node:path';

export class FileWatcher {
  private watchers: fs.FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private files = new Set<string>();

  constructor(private readonly onChange: () => void, private readonly quietMs = 150) {}

  /** watch exactly these files (replaces the previous set) */
  watch(files: Iterable<string>): void {
    this.close();
    this.files = new Set([...files].map((f) => path.resolve(f)));
    const dirs = new Set([...this.files].map((f) => path.dirname(f)));
    for (const dir of dirs) {
      try {
        const w = fs.watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || this.files.has(path.join(dir, name.toString()))) this.kick();
        });
        w.on('error', () => {});
        this.watchers.push(w);
      } catch {
        // a folder that vanished: nothing to watch there
      }
    }
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; this.onChange(); }, this.quietMs);
  }

  close(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  }
}
