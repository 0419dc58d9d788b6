/**
 * Semantic hits through Workers AI and Vectorize (the stand-ins) in workerd: a reworded question hits only once its
 * neighbour's vector is searchable, which the test decides with the Vectorize stand-in's clock; tenants search apart;
 * the reranker decides borderline candidates.
 *
 * The stand-in embedder is a bag of words: a question with the same words in another order scores 1, one word more
 * in a sentence of eight scores about 0.94.
 */
import { describe, expect, it } from 'vitest';
import { answerOf, cacheHeaders, chat, fetchWorker, post, upstreamCalls, world } from './harness.js';

const CHAT = '/v1/chat/completions';
const ASKED = 'How do I reverse a list in Python?';
/** The same words as ASKED, reordered: similarity 1 with the stand-in embedder, but another text. */
const REORDERED = 'In Python, how do I reverse a list?';
/** One word more: similarity 0.943, over Workers AI's default threshold (0.92). */
const REWORDED = 'How do I reverse a list in Python quickly?';

describe('vector visibility', () => {
  it('a paraphrase misses while the vector is not yet searchable, an identical repeat hits exact, and once visible the paraphrase hits semantic', async () => {
    const w = world({ visibleAfterMs: 5_000 });
    const first = await fetchWorker(w, post(w, CHAT, chat(ASKED)));
    expect(cacheHeaders(first).status).toBe('MISS');
    expect(w.vectors.size).toBe(1);

    // Not searchable yet (Vectorize takes seconds): a reworded question misses...
    const early = await fetchWorker(w, post(w, CHAT, chat(REORDERED)));
    expect(cacheHeaders(early).status).toBe('MISS');
    // ...while the identical question hits from the exact tiers, which need no vector.
    const repeat = await fetchWorker(w, post(w, CHAT, chat(ASKED)));
    expect(cacheHeaders(repeat)).toMatchObject({ status: 'HIT', match: 'exact' });
    expect(answerOf(repeat)).toBe(answerOf(first));
    expect(await upstreamCalls(w)).toHaveLength(2);

    // Searchable now.
    w.clock.ms += 5_000;
    const late = await fetchWorker(w, post(w, CHAT, chat(REWORDED)));
    expect(cacheHeaders(late)).toMatchObject({ status: 'HIT', match: 'semantic' });
    expect(Number(late.headers.get('x-cache-similarity'))).toBeCloseTo(0.9428, 3);
    expect([answerOf(first), answerOf(early)]).toContain(answerOf(late));
    expect(await upstreamCalls(w)).toHaveLength(2);
  });

  it('a question below the threshold misses even when visible', async () => {
    const w = world();
    await fetchWorker(w, post(w, CHAT, chat(ASKED)));
    const other = await fetchWorker(w, post(w, CHAT, chat('How can I reverse a list in Python?')));
    // similarity 0.875 < 0.92
    expect(cacheHeaders(other).status).toBe('MISS');
    expect(await upstreamCalls(w)).toHaveLength(2);
  });
});

describe('tenants', () => {
  it('search apart: per-tenant namespaces and the scope filter, and no hit across keys, even for identical text', async () => {
    const w = world();
    const keyA = `sk-a-${w.run}`;
    const keyB = `sk-b-${w.run}`;
    const queriesOf = async (key: string, text: string) => {
      const from = w.vectors.queries.length;
      const sent = await fetchWorker(w, post(w, CHAT, chat(text), { key }));
      return { sent, queries: w.vectors.queries.slice(from) };
    };

    const a = await queriesOf(keyA, ASKED);
    expect(cacheHeaders(a.sent).status).toBe('MISS');
    // The same text under another key: no exact hit, and its search finds nothing of A's.
    const b = await queriesOf(keyB, ASKED);
    expect(cacheHeaders(b.sent).status).toBe('MISS');
    const bReworded = await queriesOf(keyB, REWORDED);
    // It finds B's own entry, not A's: the answer is B's.
    expect(cacheHeaders(bReworded.sent)).toMatchObject({ status: 'HIT', match: 'semantic' });
    expect(answerOf(bReworded.sent)).toBe(answerOf(b.sent));
    const aReworded = await queriesOf(keyA, REWORDED);
    expect(cacheHeaders(aReworded.sent)).toMatchObject({ status: 'HIT', match: 'semantic' });
    expect(answerOf(aReworded.sent)).toBe(answerOf(a.sent));
    expect(answerOf(a.sent)).not.toBe(answerOf(b.sent));
    expect(await upstreamCalls(w)).toHaveLength(2);

    for (const q of [a, b, bReworded, aReworded]) {
      expect(q.queries).toHaveLength(1);
      expect(q.queries[0]).toMatchObject({ namespace: expect.any(String), filter: { scope: { $eq: expect.any(String) } } });
    }
    const ns = (q: { queries: Array<Record<string, unknown>> }) => q.queries[0]!.namespace as string;
    const scope = (q: { queries: Array<Record<string, unknown>> }) => (q.queries[0]!.filter as { scope: { $eq: string } }).scope.$eq;
    // One namespace per tenant, never the key itself.
    expect(ns(a)).toBe(ns(aReworded));
    expect(ns(b)).toBe(ns(bReworded));
    expect(ns(a)).not.toBe(ns(b));
    for (const q of [a, b]) {
      expect(ns(q)).not.toContain(w.run);
      expect(new TextEncoder().encode(ns(q)).length).toBeLessThanOrEqual(64);
    }
    // The scope names the tenant too: the same text scopes apart per key.
    expect(scope(a)).toBe(scope(aReworded));
    expect(scope(a)).not.toBe(scope(b));
  });
});

describe('the reranker (RERANKER=on)', () => {
  // Similarity 0.961; word overlap (the stand-in reranker's score) 10/11 = 0.909.
  const STORED = 'how do i sort a dictionary by value in python';
  const BORDERLINE = 'how do i sort a dictionary by its value in python';
  const reranks = (w: ReturnType<typeof world>) => w.ai.calls.filter((c) => c.model.includes('reranker'));

  it('serves a borderline candidate the reranker scores at least RERANK_MIN_SCORE', async () => {
    const w = world({ vars: { RERANKER: 'on', CACHE_THRESHOLD: '0.95', CACHE_JUDGE_BAND: '0.03', RERANK_MIN_SCORE: '0.9' } });
    const health = await fetchWorker(w, new Request('https://reprise.test/healthz'));
    expect(health.json()).toMatchObject({ reranker: '@cf/baai/bge-reranker-base' });
    await fetchWorker(w, post(w, CHAT, chat(STORED)));
    const sent = await fetchWorker(w, post(w, CHAT, chat(BORDERLINE)));
    expect(cacheHeaders(sent)).toMatchObject({ status: 'HIT', match: 'semantic' });
    expect(reranks(w)).toHaveLength(1);
    expect(reranks(w)[0]!.inputs).toEqual({ query: BORDERLINE, contexts: [{ text: STORED }] });
    expect(await upstreamCalls(w)).toHaveLength(1);
  });

  it('refuses it when the reranker scores it under RERANK_MIN_SCORE: a miss', async () => {
    const w = world({ vars: { RERANKER: 'on', CACHE_THRESHOLD: '0.95', CACHE_JUDGE_BAND: '0.03', RERANK_MIN_SCORE: '0.95' } });
    await fetchWorker(w, post(w, CHAT, chat(STORED)));
    const sent = await fetchWorker(w, post(w, CHAT, chat(BORDERLINE)));
    expect(cacheHeaders(sent).status).toBe('MISS');
    expect(reranks(w)).toHaveLength(1);
    expect(await upstreamCalls(w)).toHaveLength(2);
  });

  it('asks nothing about a candidate above the band, and without the reranker the borderline one is served', async () => {
    const above = world({ vars: { RERANKER: 'on', CACHE_THRESHOLD: '0.95', CACHE_JUDGE_BAND: '0.005', RERANK_MIN_SCORE: '0.95' } });
    await fetchWorker(above, post(above, CHAT, chat(STORED)));
    const served = await fetchWorker(above, post(above, CHAT, chat(BORDERLINE)));
    expect(cacheHeaders(served)).toMatchObject({ status: 'HIT', match: 'semantic' });
    expect(reranks(above)).toHaveLength(0);

    const off = world({ vars: { RERANKER: 'off', CACHE_THRESHOLD: '0.95', CACHE_JUDGE_BAND: '0.03', RERANK_MIN_SCORE: '0.95' } });
    await fetchWorker(off, post(off, CHAT, chat(STORED)));
    const unjudged = await fetchWorker(off, post(off, CHAT, chat(BORDERLINE)));
    expect(cacheHeaders(unjudged)).toMatchObject({ status: 'HIT', match: 'semantic' });
    expect(reranks(off)).toHaveLength(0);
  });
});
