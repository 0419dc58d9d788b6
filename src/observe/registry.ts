/**
 * @module observe/registry: a small Prometheus registry in Web-standard code: counters, gauges and histograms with
 * labels, written in the text exposition format (version 0.0.4). prom-client needs Node built-ins and this module
 * runs on Workers too; what Reprise exposes is a few dozen series, which this covers.
 */

type Labels = Readonly<Record<string, string>>;

/** A label value as the exposition format writes it: backslash, double quote and line feed escaped. */
const escapeValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** A number as the exposition format writes it. */
function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((n, i) => `${n}="${escapeValue(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

abstract class Metric<T> {
  protected readonly series = new Map<string, { values: string[]; data: T }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected abstract fresh(): T;

  /** The series of these labels, made on first use; a label not given is "". */
  protected at(labels: Labels | undefined): T {
    const values = this.labelNames.map((n) => labels?.[n] ?? '');
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { values, data: this.fresh() }));
    return s.data;
  }
  protected abstract lines(values: string[], data: T): string[];

  /** make a series show as 0 before anything is counted in it, so a rate over it exists from the start */
  touch(labels?: Labels): void {
    this.at(labels);
  }

  expose(): string[] {
    const out = [`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, data } of this.series.values()) out.push(...this.lines(values, data));
    return out;
  }
}

export class Counter extends Metric<{ v: number }> {
  readonly type = 'counter';
  protected fresh() {
    return { v: 0 };
  }
  inc(labels?: Labels, by = 1): void {
    this.at(labels).v += by;
  }
  /** the count of one series, 0 if it was never counted */
  get(labels?: Labels): number {
    return this.at(labels).v;
  }
  /** every series, by its label values */
  entries(): Array<[Labels, number]> {
    return [...this.series.values()].map(({ values, data }) => [Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]!])), data.v]);
  }
  protected lines(values: string[], data: { v: number }) {
    return [`${this.name}${labelText(this.labelNames, values)} ${num(data.v)}`];
  }
}

export class Gauge extends Metric<{ v: number }> {
  readonly type = 'gauge';
  /** @param read the gauge's value, read at exposition time (no labels) */
  constructor(name: string, help: string, labelNames: readonly string[] = [], private readonly read?: () => number) {
    super(name, help, labelNames);
  }
  protected fresh() {
    return { v: 0 };
  }
  set(labels: Labels | undefined, v: number): void {
    this.at(labels).v = v;
  }
  override expose(): string[] {
    if (this.read) this.at(undefined).v = this.read();
    return super.expose();
  }
  protected lines(values: string[], data: { v: number }) {
    return [`${this.name}${labelText(this.labelNames, values)} ${num(data.v)}`];
  }
}

interface HistogramData {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistogramData> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    /** upper bounds, ascending; +Inf is added */
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected fresh(): HistogramData {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  observe(labels: Labels | undefined, v: number): void {
    const d = this.at(labels);
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) d.counts[i]!++;
    d.sum += v;
    d.count++;
  }
  /** observations and their sum for one series */
  summary(labels?: Labels): { count: number; sum: number; buckets: Array<[number, number]> } {
    const d = this.at(labels);
    return { count: d.count, sum: d.sum, buckets: this.buckets.map((b, i) => [b, d.counts[i]!]) };
  }
  protected lines(values: string[], d: HistogramData) {
    const out = this.buckets.map((b, i) => `${this.name}_bucket${labelText(this.labelNames, values, `le="${num(b)}"`)} ${d.counts[i]}`);
    out.push(`${this.name}_bucket${labelText(this.labelNames, values, 'le="+Inf"')} ${d.count}`);
    out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${num(d.sum)}`, `${this.name}_count${labelText(this.labelNames, values)} ${d.count}`);
    return out;
  }
}

/** What the registry needs of a metric: its name, and its lines. */
interface Exposable {
  readonly name: string;
  readonly labelNames: readonly string[];
  touch(): void;
  expose(): string[];
}

export class Registry {
  private readonly metrics: Exposable[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = [], read?: () => number): Gauge {
    return this.add(new Gauge(name, help, labelNames, read));
  }
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  private add<M extends Exposable>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    // A metric without labels has its one series from the start: Prometheus sees it at 0, so the first event
    // counts in rate() and increase().
    if (m.labelNames.length === 0) m.touch();
    this.metrics.push(m);
    return m;
  }

  /** Every metric in the text exposition format. */
  expose(): string {
    return `${this.metrics.flatMap((m) => m.expose()).join('\n')}\n`;
  }
}
