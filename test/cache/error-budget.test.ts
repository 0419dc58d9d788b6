import { describe, expect, it } from 'vitest';
import { ErrorBudget, wilsonLower, wilsonUpper } from '../../src/cache/error-budget.js';
import { rng } from '../helpers/vectors.js';

describe('ErrorBudget decisions', () => {
  it('explores while nothing is known, then serves once the evidence is in', () => {
    const b = new ErrorBudget({ maxErrorRate: 0.05, sampleRate: 0 });
    expect(b.decide('e1', 0.95)).toEqual({ serve: false, reason: 'uncertain' });
    // Pooled evidence that serving at 0.95 or closer is right.
    for (let i = 0; i < 200; i++) b.learn(`other${i}`, 0.96, true);
    expect(b.decide('e1', 0.95)).toEqual({ serve: true });
  });

  it('a wrong label at s stops the entry from serving at s or farther, but not closer', () => {
    const b = new ErrorBudget({ maxErrorRate: 0.05, sampleRate: 0 });
    for (let i = 0; i < 200; i++) b.learn(`other${i}`, 0.99, true);
    b.learn('e1', 0.93, false);
    expect(b.decide('e1', 0.92)).toEqual({ serve: false, reason: 'entry-wrong-closer' });
    expect(b.decide('e1', 0.93)).toEqual({ serve: false, reason: 'entry-wrong-closer' });
    expect(b.decide('e1', 0.96)).toEqual({ serve: true });
    expect(b.decide('e2', 0.92)).toEqual({ serve: true });
  });

  it("an entry's own right labels let it serve where the pooled evidence alone is not enough", () => {
    const b = new ErrorBudget({ maxErrorRate: 0.05, sampleRate: 0 });
    // Pooled: 10% wrong at 0.88, too much on its own.
    for (let i = 0; i < 90; i++) b.learn(`p${i}`, 0.88, true);
    for (let i = 0; i < 10; i++) b.learn(`q${i}`, 0.88, false);
    expect(b.decide('e1', 0.87)).toEqual({ serve: false, reason: 'uncertain' });
    for (let i = 0; i < 6; i++) b.learn('e1', 0.85, true);
    expect(b.decide('e1', 0.87)).toEqual({ serve: true });
    // Right labels at 0.85 say nothing about a farther query at 0.84.
    expect(b.decide('e1', 0.84).serve).toBe(false);
  });

  it('sends the configured share of would-be hits upstream to measure them', () => {
    const b = new ErrorBudget({ maxErrorRate: 0.05, sampleRate: 0.1, random: rng(7) });
    for (let i = 0; i < 500; i++) b.learn(`p${i}`, 0.99, true);
    let sampled = 0;
    for (let i = 0; i < 5000; i++) if (!b.decide('e', 0.99).serve) sampled++;
    expect(sampled / 5000).toBeGreaterThan(0.08);
    expect(sampled / 5000).toBeLessThan(0.12);
  });

  it('feedback is placed at the similarity the entry last served', () => {
    const b = new ErrorBudget({ maxErrorRate: 0.05, sampleRate: 0 });
    for (let i = 0; i < 200; i++) b.learn(`p${i}`, 0.96, true);
    expect(b.reportWrong('e1')).toBe(false);
    b.served('e1', 0.94);
    expect(b.reportWrong('e1')).toBe(true);
    expect(b.decide('e1', 0.94)).toEqual({ serve: false, reason: 'entry-wrong-closer' });
    expect(b.decide('e1', 0.95)).toEqual({ serve: true });
    expect(b.stats().reported).toBe(1);
  });

  it('Wilson bounds bracket the observed rate and tighten with more trials', () => {
    expect(wilsonUpper(0, 0)).toBe(1);
    expect(wilsonLower(0, 0)).toBe(0);
    expect(wilsonUpper(0, 100)).toBeGreaterThan(0.02);
    expect(wilsonUpper(0, 1000)).toBeLessThan(0.005);
    expect(wilsonLower(10, 100)).toBeLessThan(0.1);
    expect(wilsonUpper(10, 100)).toBeGreaterThan(0.1);
  });
});

/**
 * A stream of queries against cached entries. Each entry has a hidden threshold: a query at that similarity or
 * closer means the same thing; a farther one means something else, and the entry's answer is wrong for it.
 * `noise` is the share of queries that are wrong whatever their similarity (answers that vary, odd questions).
 */
function simulate(opts: { seed: number; maxErrorRate: number; noise: number; queries?: number; feedback?: number }) {
  const r = rng(opts.seed);
  const entries = 300;
  const hidden = Array.from({ length: entries }, () => 0.8 + r() * 0.19);
  const budget = new ErrorBudget({ maxErrorRate: opts.maxErrorRate, random: rng(opts.seed + 1000) });
  const out = { served: 0, wrong: 0, right: 0, couldServe: 0, staticServed: 0, staticWrong: 0 };
  for (let i = 0; i < (opts.queries ?? 20_000); i++) {
    const e = Math.floor(r() ** 2 * entries); // some entries are asked about far more often
    const score = 0.8 + r() * 0.2;
    const right = score >= hidden[e]! && r() >= opts.noise;
    if (right) out.couldServe++;
    // The baseline: one static threshold, the embedder-default style.
    if (score >= 0.9) {
      out.staticServed++;
      if (!right) out.staticWrong++;
    }
    const d = budget.decide(`e${e}`, score);
    if (d.serve) {
      out.served++;
      budget.served(`e${e}`, score);
      if (right) out.right++;
      else {
        out.wrong++;
        // Clients notice and report some of the wrong hits.
        if (r() < (opts.feedback ?? 0.5)) budget.reportWrong(`e${e}`);
      }
    } else {
      // Explored: the upstream answer is compared with the entry's, which labels the pair.
      budget.learn(`e${e}`, score, right, d.reason === 'sampled');
    }
  }
  return { ...out, errorRate: out.wrong / out.served, staticErrorRate: out.staticWrong / out.staticServed, budget: budget.stats() };
}

describe('ErrorBudget on a simulated stream with feedback', () => {
  it.each([
    { seed: 1, maxErrorRate: 0.02, noise: 0 },
    { seed: 2, maxErrorRate: 0.02, noise: 0 },
    { seed: 3, maxErrorRate: 0.05, noise: 0 },
    { seed: 4, maxErrorRate: 0.02, noise: 0.01 },
    { seed: 5, maxErrorRate: 0.05, noise: 0.03 },
  ])('keeps the measured error under budget (%o)', (world) => {
    const run = simulate(world);
    // The static threshold would break the budget badly in the same world, so the budget is doing the work.
    expect(run.staticErrorRate).toBeGreaterThan(3 * world.maxErrorRate);
    expect(run.errorRate).toBeLessThanOrEqual(world.maxErrorRate);
    // ...and it still serves: a policy that never serves would pass the line above trivially.
    expect(run.served / run.couldServe).toBeGreaterThan(0.2);
    // Its own unbiased measurement of the served error agrees.
    expect(run.budget.sampled.checked).toBeGreaterThan(50);
    expect(run.budget.measuredErrorRate!).toBeLessThanOrEqual(world.maxErrorRate * 1.5);
  });

  it('a looser budget buys more hits', () => {
    const strict = simulate({ seed: 9, maxErrorRate: 0.01, noise: 0 });
    const loose = simulate({ seed: 9, maxErrorRate: 0.1, noise: 0 });
    expect(loose.served).toBeGreaterThan(strict.served);
    expect(strict.errorRate).toBeLessThanOrEqual(0.01);
  });
});
