/**
 * The signals that catch a leak or a stalled process: event-loop lag, heap and memory,
 * open handles by type, open file descriptors. prom-client's collectDefaultMetrics
 * would register a GC observer and a lag monitor that can never be stopped, so these
 * few are kept here with a close().
 */
import fs from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { Gauge, type Registry } from 'prom-client';

/** event-loop delay is summarized over windows of this many ms */
const LAG_WINDOW_MS = 10_000;
/** the delay monitor's timer period (ms); it is part of every sample and is taken off */
const RESOLUTION_MS = 10;

export interface LagWindow {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export class ProcessMetrics {
  private readonly loop: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  /** the last complete window, in seconds; before one completes, the window so far */
  private window: LagWindow | null = null;
  readonly startedAt = Date.now();

  constructor(registry: Registry) {
    this.loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.loop.enable();
    this.timer = setInterval(() => {
      this.window = this.snapshot();
      this.loop.reset();
    }, LAG_WINDOW_MS);
    this.timer.unref();

    const registers = [registry];
    const self = this;
    new Gauge({
      name: 'luaproxy_event_loop_lag_seconds',
      help: `Event-loop delay over the last ${LAG_WINDOW_MS / 1000} s, by quantile (0.5, 0.99, 1 = max); a busy or blocked loop delays every request`,
      labelNames: ['quantile'], registers,
      collect() {
        const w = self.lag();
        this.labels('0.5').set(w.p50);
        this.labels('0.99').set(w.p99);
        this.labels('1').set(w.max);
      },
    });
    new Gauge({
      name: 'luaproxy_memory_bytes', help: 'Process memory by kind: rss, heap_used, heap_total, external, array_buffers',
      labelNames: ['kind'], registers,
      collect() {
        const m = process.memoryUsage();
        this.labels('rss').set(m.rss);
        this.labels('heap_used').set(m.heapUsed);
        this.labels('heap_total').set(m.heapTotal);
        this.labels('external').set(m.external);
        this.labels('array_buffers').set(m.arrayBuffers);
      },
    });
    new Gauge({
      name: 'luaproxy_open_handles', help: 'Resources keeping the event loop alive (sockets, timers, ...) by type; a number that only grows is a leak',
      labelNames: ['type'], registers,
      collect() {
        this.reset();
        for (const [type, n] of Object.entries(openHandles())) this.labels(type).set(n);
      },
    });
    new Gauge({
      name: 'luaproxy_open_fds', help: 'Open file descriptors of the process (Linux); compare with the ulimit', registers,
      collect() {
        const n = openFds();
        if (n >= 0) this.set(n);
      },
    });
    new Gauge({
      name: 'luaproxy_start_time_seconds', help: 'Unix time the process started', registers,
      collect() { this.set(Math.round(Date.now() / 1000 - process.uptime())); },
    });
    new Gauge({
      name: 'luaproxy_build_info', help: 'Always 1; labels give the luaproxy and Node.js versions',
      labelNames: ['version', 'node'], registers,
    }).labels(VERSION, process.version).set(1);
  }

  /** event-loop delay in seconds: the last complete window, or the current one before that */
  lag(): LagWindow {
    return this.window ?? this.snapshot();
  }

  private snapshot(): LagWindow {
    const h = this.loop;
    if (h.count === 0) return { p50: 0, p99: 0, max: 0, mean: 0 };
    const lag = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS) / 1000;
    return { p50: lag(h.percentile(50)), p99: lag(h.percentile(99)), max: lag(h.max), mean: lag(h.mean) };
  }

  close(): void {
    clearInterval(this.timer);
    this.loop.disable();
  }
}

export function openHandles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of process.getActiveResourcesInfo()) out[t] = (out[t] ?? 0) + 1;
  return out;
}

export function openFds(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
