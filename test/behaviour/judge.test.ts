/**
 * --judge-model: borderline candidates are decided by an LLM through the upstream (here the fake upstream, whose
 * "judge" answers by a rule the test sets). The synthetic embedder puts each question at a chosen similarity.
 */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';
import { at, DIM, SyntheticEmbedder } from '../helpers/synthetic-embedder.js';
import { randomUnit, rng } from '../helpers/vectors.js';

const embedder = new SyntheticEmbedder();
const r = rng(5);
const anchor = randomUnit(DIM, r);
embedder.known.set('how do i peel a mango', anchor);
embedder.known.set('whats the way to peel mangos', at(anchor, 0.86, r));
embedder.known.set('how do i peel a mango seed', at(anchor, 0.86, r));
embedder.known.set('how do i peel mangos', at(anchor, 0.97, r));
embedder.known.set('peeling a mango how', at(anchor, 0.85, r));

/** The judge's rule: a request about a seed is a different question; anything else is the same. */
function judgeSays(userText: string): string | undefined {
  if (!userText.startsWith('Request A:')) return undefined;
  return /seed/.test(userText) ? 'different' : 'same';
}

describe('LLM judge for borderline candidates', () => {
  const h = useHarness({ threshold: '0.8', 'judge-model': 'judge-mini', 'judge-band': '0.1' }, { embedder });

  const judgeCalls = () => h.up.calls.filter((c) => (c.body as { model?: string } | undefined)?.model === 'judge-mini');

  async function seed() {
    h.up.defaults.answerFor = judgeSays;
    await chat(h.client(), ask('how do i peel a mango'));
  }

  it('serves a borderline candidate the judge calls the same, asking with the caller\'s credentials', async () => {
    await seed();
    const res = await chat(h.client(), ask('whats the way to peel mangos'));
    expect(res.headers.get('x-cache-status')).toBe('HIT');
    expect(res.headers.get('x-cache-match')).toBe('semantic');
    const [call] = judgeCalls();
    expect(call).toBeDefined();
    expect(call!.headers.authorization).toBe('Bearer sk-test-a');
    const messages = (call!.body as { messages: Array<{ content: string }> }).messages;
    expect(messages[1]!.content).toContain('how do i peel a mango');
    expect(messages[1]!.content).toContain('whats the way to peel mangos');
    expect(h.reprise.metrics.snapshot().judge.same).toBeGreaterThanOrEqual(1);
  });

  it('misses when the judge calls it different', async () => {
    await seed();
    const before = h.reprise.metrics.snapshot().judge.different;
    const res = await chat(h.client(), ask('how do i peel a mango seed'));
    expect(res.headers.get('x-cache-status')).toBe('MISS');
    expect(res.data.choices[0]!.message.content).toContain('to: how do i peel a mango seed');
    expect(h.reprise.metrics.snapshot().judge.different).toBe(before + 1);
  });

  it('does not ask about candidates above the band', async () => {
    await seed();
    const res = await chat(h.client(), ask('how do i peel mangos'));
    expect(res.headers.get('x-cache-status')).toBe('HIT');
    expect(judgeCalls()).toHaveLength(0);
  });

  it('a judge that fails counts as "different": the request still succeeds, as a miss', async () => {
    await seed();
    const before = h.reprise.metrics.snapshot().judge.error;
    h.up.next({ status: 500 }); // the next upstream call is the judge's
    const res = await chat(h.client(), ask('peeling a mango how'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache-status')).toBe('MISS');
    expect(h.reprise.metrics.snapshot().judge.error).toBe(before + 1);
    const text = await (await fetch(`${h.reprise.url}/metrics`)).text();
    expect(text).toMatch(/reprise_judge_total\{verdict="error"\} [1-9]/);
  });
});
