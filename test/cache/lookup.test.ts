/** Tests cache/lookup: the exact lookup, and the semantic lookup (embed, search in scope, verify, judge, error budget). */
import { describe, expect, it } from 'vitest';
import { ErrorBudget } from '../../src/cache/error-budget.js';
import type { JudgeVerdict } from '../../src/cache/judge.js';
import { buildKey, type CacheKey } from '../../src/cache/key.js';
import { exactLookup, semanticLookup, type SemanticDeps } from '../../src/cache/lookup.js';
import { readPolicy, type CachePolicy } from '../../src/cache/policy.js';
import { parseRequest } from '../../src/openai/request.js';
import { MemoryStore } from '../../src/store/memory.js';
import { entryId, type Candidate, type Entry } from '../../src/store/types.js';
import { at, SyntheticEmbedder } from '../helpers/synthetic-embedder.js';
import { randomUnit, rng } from '../helpers/vectors.js';

const NOW = 1_700_000_000_000;
const now = () => NOW;
const POLICY: CachePolicy = readPolicy(new Headers(), 3600);

/** The key of a chat request whose last user turn is `text`; the scope is the same for every text. */
const keyOf = (text: string): CacheKey =>
  buildKey(parseRequest('chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }), {
    tenant: 'tenant-a',
    namespace: '',
    embedderId: 'synthetic-48',
  });

function entryFor(key: CacheKey, vector: Float32Array | undefined, createdAt = NOW): Entry {
  return {
    id: entryId(key.scope, key.textKey),
    scope: key.scope,
    textKey: key.textKey,
    text: key.text,
    ...(vector && { vector }),
    response: { answer: key.text },
    endpoint: 'chat',
    model: 'gpt-4o-mini',
    tenant: 'tenant-a',
    namespace: '',
    createdAt,
    expiresAt: createdAt + 3_600_000,
  };
}

/** A store whose reads fail, as a Redis that went away does. */
class BrokenStore extends MemoryStore {
  readonly failure = new Error('store down');
  constructor(private readonly broken: 'getExact' | 'search') {
    super({ now });
  }
  override async getExact(scope: string, textKey: string): Promise<Entry | undefined> {
    if (this.broken === 'getExact') throw this.failure;
    return super.getExact(scope, textKey);
  }
  override async search(scope: string, vector: Float32Array, k: number): Promise<Candidate[]> {
    if (this.broken === 'search') throw this.failure;
    return super.search(scope, vector, k);
  }
}

/** An embedder whose model call fails. */
class BrokenEmbedder extends SyntheticEmbedder {
  readonly failure = new Error('model crashed');
  override async embed(): Promise<Float32Array[]> {
    throw this.failure;
  }
}

describe('exactLookup', () => {
  const key = keyOf('how do i bake sourdough bread');

  it('finds the entry stored under the same scope and text key', async () => {
    const store = new MemoryStore({ now });
    const entry = entryFor(key, undefined);
    await store.put(entry, 3600);
    expect(await exactLookup(store, key, POLICY, now)).toEqual({ kind: 'hit', entry, match: 'exact', score: 1 });
  });

  it('misses when nothing is stored under that text key, or under that scope', async () => {
    const store = new MemoryStore({ now });
    await store.put(entryFor(key, undefined), 3600);
    expect(await exactLookup(store, keyOf('how do i bake rye bread'), POLICY, now)).toEqual({ kind: 'miss', reason: 'none' });
    expect(await exactLookup(store, { scope: 'other-scope', textKey: key.textKey }, POLICY, now)).toEqual({ kind: 'miss', reason: 'none' });
  });

  it('an entry older than the request allows (Cache-Control: max-age) is a miss; one exactly that old is a hit', async () => {
    const store = new MemoryStore({ now });
    const entry = entryFor(key, undefined, NOW - 10_000);
    await store.put(entry, 3600);
    const maxAge = (s: number) => readPolicy(new Headers({ 'cache-control': `max-age=${s}` }), 3600);
    expect(maxAge(9).maxAge).toBe(9);
    expect(await exactLookup(store, key, maxAge(9), now)).toEqual({ kind: 'miss', reason: 'none' });
    expect(await exactLookup(store, key, maxAge(10), now)).toMatchObject({ kind: 'hit', entry });
    expect(await exactLookup(store, key, POLICY, now)).toMatchObject({ kind: 'hit', entry });
  });

  it('a store that throws is a fault at the lookup stage, carrying the error, not a rejection', async () => {
    const store = new BrokenStore('getExact');
    expect(await exactLookup(store, key, POLICY, now)).toEqual({ kind: 'fault', stage: 'lookup', error: store.failure });
  });
});

describe('semanticLookup', () => {
  const QUERY = 'how do i bake sourdough bread at home';
  const PARAPHRASE = 'what is the way to bake sourdough bread at home';
  const FAR = 'how do i change a bicycle tyre';
  const anchor = randomUnit(48, rng(7));

  /** An embedder that puts QUERY on the anchor and the others at chosen cosines to it. */
  function world() {
    const embedder = new SyntheticEmbedder();
    embedder.known.set(QUERY, anchor);
    embedder.known.set(PARAPHRASE, at(anchor, 0.95, rng(11)));
    embedder.known.set(FAR, at(anchor, 0.5, rng(13)));
    return { embedder, store: new MemoryStore({ now }) };
  }

  async function put(store: MemoryStore, embedder: SyntheticEmbedder, text: string): Promise<Entry> {
    const [vector] = await embedder.embed([text]);
    const entry = entryFor(keyOf(text), vector);
    await store.put(entry, 3600);
    return entry;
  }

  const deps = (w: { embedder: SyntheticEmbedder; store: MemoryStore }, extra: Partial<SemanticDeps> = {}): SemanticDeps => ({
    store: w.store,
    embedder: w.embedder,
    tenant: 'tenant-a',
    threshold: 0.8,
    now,
    ...extra,
  });

  /** A budget with no evidence: every candidate is uncertain, so every one is explored. */
  const noEvidenceBudget = () => new ErrorBudget({ maxErrorRate: 0.05, random: () => 0.999 });

  /** A judge that calls every candidate different, and remembers being asked. */
  function sayDifferent() {
    const asked: string[] = [];
    return {
      asked,
      judge: {
        band: 1,
        ask: async (_query: string, candidate: string): Promise<JudgeVerdict> => {
          asked.push(candidate);
          return 'different';
        },
      },
    };
  }

  it('a candidate over the threshold that passes the guards is a semantic hit at its cosine', async () => {
    const w = world();
    const stored = await put(w.store, w.embedder, PARAPHRASE);
    const found = await semanticLookup(deps(w), keyOf(QUERY), POLICY);
    expect(found.kind).toBe('hit');
    if (found.kind !== 'hit') return;
    expect(found.match).toBe('semantic');
    expect(found.entry).toBe(stored);
    expect(found.score).toBeCloseTo(0.95, 4);
  });

  it('the request threshold (x-cache-threshold) overrides the default', async () => {
    const w = world();
    await put(w.store, w.embedder, PARAPHRASE);
    const strict = readPolicy(new Headers({ 'x-cache-threshold': '0.97' }), 3600);
    expect(await semanticLookup(deps(w), keyOf(QUERY), strict)).toMatchObject({ kind: 'miss', reason: 'below-threshold' });
  });

  it('a candidate under the threshold is a miss that carries the query vector', async () => {
    const w = world();
    await put(w.store, w.embedder, FAR);
    const found = await semanticLookup(deps(w), keyOf(QUERY), POLICY);
    expect(found).toMatchObject({ kind: 'miss', reason: 'below-threshold', vector: anchor, seen: { refusal: 'below-threshold' } });
  });

  it('a close candidate that asks about a different number fails the guards: a miss', async () => {
    const w = world();
    const q = 'how many days are in week 3';
    const c = 'how many days are in week 4';
    w.embedder.known.set(q, anchor);
    w.embedder.known.set(c, at(anchor, 0.99, rng(17)));
    await put(w.store, w.embedder, c);
    expect(await semanticLookup(deps(w), keyOf(q), POLICY)).toMatchObject({ kind: 'miss', reason: 'guard', vector: anchor, seen: { refusal: 'guard-numbers' } });
  });

  it('an empty scope is a miss with reason none', async () => {
    const w = world();
    expect(await semanticLookup(deps(w), keyOf(QUERY), POLICY)).toMatchObject({ kind: 'miss', reason: 'none', vector: anchor });
  });

  it('an embedder that throws is a fault at the embed stage', async () => {
    const w = world();
    const embedder = new BrokenEmbedder();
    expect(await semanticLookup(deps(w, { embedder }), keyOf(QUERY), POLICY)).toEqual({ kind: 'fault', stage: 'embed', error: embedder.failure });
  });

  it('a search that throws is a fault at the search stage', async () => {
    const w = world();
    const store = new BrokenStore('search');
    expect(await semanticLookup(deps(w, { store }), keyOf(QUERY), POLICY)).toEqual({ kind: 'fault', stage: 'search', error: store.failure });
  });

  describe('a candidate with the query text itself (stored since the exact lookup missed)', () => {
    it('without it, the no-evidence budget explores the paraphrase, and the judge turns it down', async () => {
      const w = world();
      const paraphrase = await put(w.store, w.embedder, PARAPHRASE);
      const budget = noEvidenceBudget();
      const found = await semanticLookup(deps(w, { budget }), keyOf(QUERY), POLICY);
      expect(found).toMatchObject({ kind: 'miss', reason: 'budget-uncertain', vector: anchor, explore: { entry: paraphrase, sampled: false } });

      const { asked, judge } = sayDifferent();
      expect(await semanticLookup(deps(w, { judge }), keyOf(QUERY), POLICY)).toMatchObject({ kind: 'miss', reason: 'judge-different', vector: anchor, seen: { refusal: 'judge-different' } });
      expect(asked).toEqual([PARAPHRASE]);
    });

    it('with it, the result is an exact hit at score 1, whatever the budget or the judge would say', async () => {
      const w = world();
      await put(w.store, w.embedder, PARAPHRASE);
      const same = await put(w.store, w.embedder, QUERY);
      const budget = noEvidenceBudget();
      const { asked, judge } = sayDifferent();
      const key = keyOf(QUERY);
      expect(same.textKey).toBe(key.textKey);

      expect(await semanticLookup(deps(w, { budget }), key, POLICY)).toMatchObject({ kind: 'hit', entry: same, match: 'exact', score: 1 });
      expect(await semanticLookup(deps(w, { judge }), key, POLICY)).toMatchObject({ kind: 'hit', entry: same, match: 'exact', score: 1 });
      expect(await semanticLookup(deps(w, { budget, judge }), key, POLICY)).toMatchObject({ kind: 'hit', entry: same, match: 'exact', score: 1 });
      expect(asked).toEqual([]);

      // The same store without that one entry: the budget explores again, so the rule above is what served it.
      await w.store.delete(same.id);
      expect(await semanticLookup(deps(w, { budget }), key, POLICY)).toMatchObject({ kind: 'miss', reason: 'budget-uncertain' });
    });

    it('the same text stored longer ago than max-age is not served', async () => {
      const w = world();
      const [vector] = await w.embedder.embed([QUERY]);
      await w.store.put(entryFor(keyOf(QUERY), vector, NOW - 60_000), 3600);
      const policy = readPolicy(new Headers({ 'cache-control': 'max-age=30' }), 3600);
      expect(await semanticLookup(deps(w), keyOf(QUERY), policy)).toMatchObject({ kind: 'miss', reason: 'none', vector: anchor });
    });
  });
});
