/**
 * Counters and histograms for the request path that cost a few array writes per event.
 * prom-client's own children hash their label set on every inc/observe (about 1 µs a
 * request for the metrics luaproxy keeps); these keep plain numbers in cells made once
 * per label set and hand them to prom-client's Registry only when /metrics is scraped,
 * so the exposition format, escaping and registry stay prom-client's.
 */
import type { Registry } from 'prom-client';

/** what prom-client's Registry reads from a metric when it formats /metrics */
interface Exposed {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Array<{ metricName?: string; labels: Record<string, string | number>; value: number }>;
}

export class CounterCell {
  value = 0;
  constructor(readonly labels: Record<string, string>) {}
  inc(n = 1): void {
    this.value += n;
  }
}

export class HistogramCell {
  /** counts[i] = observations <= bounds[i] and > bounds[i-1]; the last is above every bound */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly labels: Record<string, string>, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

abstract class Tally<C> {
  readonly aggregator = 'sum' as const;
  protected readonly cells = new Map<string, C>();
  constructor(readonly name: string, readonly help: string, registry: Registry) {
    registry.registerMetric(this as never);
  }
  protected abstract make(labels: Record<string, string>): C;
  /** the cell of one label set; keep it, and call it on the hot path */
  cell(labels: Record<string, string> = {}): C {
    const key = Object.values(labels).join('\u0000');
    let c = this.cells.get(key);
    if (!c) { c = this.make(labels); this.cells.set(key, c); }
    return c;
  }
  reset(): void {
    this.cells.clear();
  }
}

export class TallyCounter extends Tally<CounterCell> {
  readonly type = 'counter' as const;
  protected make(labels: Record<string, string>): CounterCell {
    return new CounterCell(labels);
  }
  get(): Promise<Exposed> {
    const values: Exposed['values'] = [];
    for (const c of this.cells.values()) values.push({ labels: c.labels, value: c.value });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}

export class TallyHistogram extends Tally<HistogramCell> {
  readonly type = 'histogram' as const;
  constructor(name: string, help: string, registry: Registry, private readonly bounds: readonly number[]) {
    super(name, help, registry);
  }
  protected make(labels: Record<string, string>): HistogramCell {
    return new HistogramCell(labels, this.bounds);
  }
  get(): Promise<Exposed> {
    const values: Exposed['values'] = [];
    for (const c of this.cells.values()) {
      let acc = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        acc += c.counts[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { ...c.labels, le: i < this.bounds.length ? this.bounds[i] : '+Inf' }, value: acc });
      }
      values.push({ metricName: `${this.name}_sum`, labels: c.labels, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: c.labels, value: c.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
