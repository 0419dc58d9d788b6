/** The Web-standard Prometheus registry: the text it writes, escaping, histograms and the guard against duplicates. */
import { describe, expect, it } from 'vitest';
import { Registry } from '../../src/observe/registry.js';
import { prices } from '../../src/observe/prices.js';

describe('Registry', () => {
  it('writes counters with HELP, TYPE and one line per label set, values escaped', () => {
    const r = new Registry();
    const c = r.counter('x_total', 'Things.\nCounted.', ['kind']);
    c.inc({ kind: 'a' });
    c.inc({ kind: 'a' }, 2);
    c.inc({ kind: 'quote " back \\ line\n' });
    expect(r.expose()).toBe(
      ['# HELP x_total Things.\\nCounted.', '# TYPE x_total counter', 'x_total{kind="a"} 3', 'x_total{kind="quote \\" back \\\\ line\\n"} 1', ''].join('\n'),
    );
    expect(c.get({ kind: 'a' })).toBe(3);
  });

  it('writes histograms as cumulative buckets with +Inf, a sum and a count', () => {
    const r = new Registry();
    const h = r.histogram('t_seconds', 'Time.', ['route'], [0.1, 1]);
    h.observe({ route: 'a' }, 0.05);
    h.observe({ route: 'a' }, 0.5);
    h.observe({ route: 'a' }, 5);
    expect(r.expose().split('\n')).toEqual([
      '# HELP t_seconds Time.',
      '# TYPE t_seconds histogram',
      't_seconds_bucket{route="a",le="0.1"} 1',
      't_seconds_bucket{route="a",le="1"} 2',
      't_seconds_bucket{route="a",le="+Inf"} 3',
      't_seconds_sum{route="a"} 5.55',
      't_seconds_count{route="a"} 3',
      '',
    ]);
  });

  it('reads a gauge when it is written, and refuses a name twice', () => {
    const r = new Registry();
    let v = 1;
    r.gauge('g', 'A gauge.', [], () => v);
    v = 7;
    expect(r.expose()).toContain('\ng 7\n');
    expect(() => r.counter('g', 'Again.')).toThrow(/twice/);
  });
});

describe('prices', () => {
  it('prices a dated model as its family, the longest name first; fresh input and output only', () => {
    const t = prices();
    const usage = { input: 1_000_000, output: 1_000_000, cachedInput: 5_000_000 };
    expect(t.cost('gpt-4o-mini-2024-07-18', usage)).toBeCloseTo(0.15 + 0.6);
    expect(t.cost('gpt-4o', usage)).toBeCloseTo(2.5 + 10);
    expect(t.cost('claude-sonnet-4-5-20250929', usage)).toBeCloseTo(3 + 15);
    expect(t.cost('my-fine-tune', usage)).toBeUndefined();
  });

  it('a name that only starts with a priced one is another model: unknown, never priced as the family', () => {
    const usage = { input: 1e6, output: 1e6, cachedInput: 0 };
    for (const model of ['o1-mini', 'o1-pro', 'o3-pro', 'gpt-5-pro', 'gpt-4o-realtime-preview', 'claude-opus-4-7']) expect(prices().cost(model, usage), model).toBeUndefined();
    expect(prices().cost('claude-opus-4-5-20251101', usage)).toBeCloseTo(30);
    expect(prices().cost('gpt-4o-latest', usage)).toBeCloseTo(12.5);
  });

  it('a price file overrides and extends the table', () => {
    const t = prices({ 'gpt-4o': { input: 1, output: 1 }, 'my-fine-tune': { input: 2, output: 4 } });
    expect(t.cost('gpt-4o', { input: 1e6, output: 1e6, cachedInput: 0 })).toBeCloseTo(2);
    expect(t.cost('my-fine-tune', { input: 5e5, output: 5e5, cachedInput: 0 })).toBeCloseTo(3);
  });
});
