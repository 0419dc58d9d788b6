/** The last hour minute by minute: what it counts, how replicas' timelines add up, the quantiles and the no-hit warning. */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observe/metrics.js';
import { statsJson } from '../../src/observe/stats.js';
import { mergeTimelines, noHitWarnings, quantileMs, Timeline } from '../../src/observe/timeline.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('Timeline', () => {
  it('counts outcomes per minute, and keeps one hour', () => {
    let now = T0;
    const t = new Timeline(() => now);
    t.request('MISS', 'chat', 'm');
    t.request('HIT', 'chat', 'm', 'exact');
    now += 60_000;
    t.request('HIT', 'chat', 'm', 'semantic');
    t.request('BYPASS', 'chat', 'm');
    expect(t.state().minutes.map((m) => [m.t - T0, m.requests, m.exact, m.semantic, m.misses, m.bypass])).toEqual([
      [0, 2, 1, 0, 1, 0],
      [60_000, 2, 0, 1, 0, 1],
    ]);
    now += 60 * 60_000;
    t.request('MISS', 'chat', 'm');
    expect(t.state().minutes.map((m) => m.t - T0)).toEqual([61 * 60_000]);
  });

  it('keeps prompt text only when asked to, and ranks entries by hits', () => {
    const plain = new Timeline(() => T0);
    const withText = new Timeline(() => T0, true);
    for (const t of [plain, withText]) {
      t.hit({ id: 'a', endpoint: 'chat', model: 'm', text: 'secret question' }, 10, 0.001);
      t.hit({ id: 'b', endpoint: 'chat', model: 'm', text: 'other' }, 10, undefined);
      t.hit({ id: 'b', endpoint: 'chat', model: 'm', text: 'other' }, 10, undefined);
      t.missed('chat', 'm', 'a missed question');
    }
    expect(plain.state().top).toEqual([
      { id: 'b', endpoint: 'chat', model: 'm', hits: 2 },
      { id: 'a', endpoint: 'chat', model: 'm', hits: 1 },
    ]);
    expect(JSON.stringify(plain.state())).not.toContain('question');
    expect(withText.state().top[1]).toMatchObject({ id: 'a', text: 'secret question' });
    expect(withText.state().recentMisses[0]).toMatchObject({ text: 'a missed question' });
  });

  it('replicas add up: minutes by their start, entries by id, misses by time', () => {
    const a = new Timeline(() => T0);
    const b = new Timeline(() => T0 + 1000);
    a.request('HIT', 'chat', 'm', 'exact');
    b.request('HIT', 'chat', 'm', 'exact');
    b.request('MISS', 'chat', 'm');
    a.hit({ id: 'x', endpoint: 'chat', model: 'm', text: '' }, 5, 0);
    b.hit({ id: 'x', endpoint: 'chat', model: 'm', text: '' }, 5, 0);
    const merged = mergeTimelines([a.state(), b.state()]);
    expect(merged.minutes).toHaveLength(1);
    expect(merged.minutes[0]).toMatchObject({ requests: 3, exact: 2, misses: 1, tokensSaved: 10 });
    expect(merged.top).toEqual([{ id: 'x', endpoint: 'chat', model: 'm', hits: 2 }]);
  });

  it('quantiles come from the bucket counts, as the bucket upper bound', () => {
    const counts = [0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0];
    expect(quantileMs(counts, 0.5)).toBe(10);
    expect(quantileMs(counts, 0.99)).toBe(2500);
    expect(quantileMs(counts.map(() => 0), 0.5)).toBeNull();
  });

  it('warns of a route with steady traffic and no hits, not of one with hits or little traffic', () => {
    let now = T0;
    const t = new Timeline(() => now);
    for (let minute = 0; minute < 6; minute++) {
      for (let i = 0; i < 4; i++) {
        t.request('MISS', 'chat', 'cold');
        t.request(i === 0 ? 'HIT' : 'MISS', 'chat', 'warm', 'exact');
      }
      t.request('MISS', 'chat', 'quiet');
      now += 60_000;
    }
    expect(noHitWarnings(t.state().minutes, now)).toEqual([{ endpoint: 'chat', model: 'cold', requests: 24, minutes: 15 }]);
  });
});

describe('statsJson', () => {
  it("adds replicas' counters up and keeps one replica's state", () => {
    const a = new Metrics({ now: () => T0 });
    const b = new Metrics({ now: () => T0 });
    a.request('HIT', { endpoint: 'chat', model: 'gpt-4o-mini' }, 'exact');
    a.hit('exact', { endpoint: 'chat', model: 'gpt-4o-mini' }, { input: 100, output: 50, cachedInput: 20 }, { id: 'e', text: '' });
    b.request('MISS', { endpoint: 'chat', model: 'gpt-4o-mini' });
    b.stored({ endpoint: 'chat', model: 'gpt-4o-mini' });
    const replica = (m: Metrics, id: string) => ({ schema: 1, replica: id, at: T0, snapshot: m.snapshot(), timeline: m.timeline.state() });
    const s = statsJson([replica(a, 'a'), replica(b, 'b')], { now: T0, threshold: 0.91, store: { entries: 1 } });
    expect(s).toMatchObject({
      schema: 1,
      replicas: 2,
      requests: { HIT: 1, MISS: 1, BYPASS: 0, ERROR: 0 },
      writes: 1,
      tokens: { input: 100, output: 50, upstreamCached: 20 },
      budget: { strictness: 1 },
      threshold: 0.91,
      entries: 1,
    });
    expect(s.moneySavedUsd).toBeCloseTo((100 * 0.15 + 50 * 0.6) / 1e6, 12);
    expect(s.minutes[0]).toMatchObject({ requests: 2, exact: 1, misses: 1, hitRate: 0.5 });
  });

  it('leaves out a peer of another schema or a malformed one, and keeps its own error-budget state', () => {
    const own = new Metrics({ now: () => T0 });
    const peer = new Metrics({ now: () => T0 });
    own.request('HIT', { endpoint: 'chat', model: 'm' }, 'exact');
    peer.request('HIT', { endpoint: 'chat', model: 'm' }, 'exact');
    peer.budgetState({ measuredErrorRate: 0.3, strictness: 2 });
    const r = (m: Metrics, id: string, schema = 1) => ({ schema, replica: id, at: T0, snapshot: m.snapshot(), timeline: m.timeline.state() });
    const broken = { ...r(peer, 'broken'), timeline: { minutes: [{ t: T0 }], top: [], recentMisses: [] } } as unknown as ReturnType<typeof r>;
    const s = statsJson([r(own, 'own'), r(peer, 'peer'), r(peer, 'future', 2), broken], { now: T0, threshold: null, store: { entries: 0 } });
    expect(s).toMatchObject({ replicas: 2, schema: 1, requests: { HIT: 2 }, budget: { measuredErrorRate: null, strictness: 1 } });
  });
});
