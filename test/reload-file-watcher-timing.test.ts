import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterEach } from 'vitest';
import { FileWatcher } from '../src/reload/watch.js';
import { save, sleep, waitFor } from './helpers/reload.js';

describe('when the file watcher reports a save', () => {
  let w: FileWatcher | null = null;
  afterEach(() => { w?.close(); w = null; });
  const folder = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lpx-watch-'));
    const file = path.join(dir, 'config.lua');
    fs.writeFileSync(file, '-- v0\n');
    return file;
  };

  it('still reports a pending save when the watched set is replaced meanwhile (as after every reload)', async () => {
    const file = folder();
    let fired = 0;
    w = new FileWatcher(() => { fired++; }, { quietMs: 100 });
    w.watch([file]);
    save(file, '-- v1\n');
    await waitFor(() => (w as unknown as { timer: unknown }).timer !== null, 2000, 'the save to be seen');
    w.watch([file]);
    await waitFor(() => fired === 1, 2000, 'the pending save to be reported');
  });

  it('reports within about a second of the first save even while saves keep coming', async () => {
    const file = folder();
    const firedAt: number[] = [];
    w = new FileWatcher(() => { firedAt.push(Date.now()); }, { quietMs: 150, maxWaitMs: 500 });
    w.watch([file]);
    const t0 = Date.now();
    for (let i = 0; i < 30; i++) { save(file, `-- v${i}\n`); await sleep(50); }
    // 1.5 s of saves 50 ms apart: a pure debounce would not have fired yet
    expect(firedAt.length).toBeGreaterThanOrEqual(1);
    expect(firedAt[0] - t0).toBeLessThan(1200);
  });
});
