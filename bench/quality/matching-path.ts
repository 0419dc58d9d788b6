/**
 * Replays labelled pairs through the cache's own matching path: every `a` is stored in one shared cache (a real
 * MemoryStore with its real index, keyed by the real buildKey), then each `b` is looked up exactly as a request
 * would be: exact tier, then embed → search top-k in scope. The candidates are kept so that `verify` can be replayed
 * at every threshold without searching again.
 */
import { resolve } from 'node:path';
import { buildKey, normaliseText } from '../../src/cache/key.js';
import { parseRequest } from '../../src/openai/request.js';
import { hnswFactory } from '../../src/store/hnsw-index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { entryId, type Candidate } from '../../src/store/types.js';
import { embedSentences, isCached, type EmbeddingTable } from './embed-cache.js';
import { DATA_DIR, fnv1a32, loadPairs, splitQqp, type Pair } from './split.js';

export { DATA_DIR, fullSentences } from './split.js';

export interface Query {
  pair: Pair;
  /** exact-tier hit (same normalised text stored) */
  exact: boolean;
  /** nearest stored entries, best first (what lookup() passes to verify) */
  candidates: Candidate[];
}

const K = 4;
const EMBEDDER_ID = 'bundled/use-lite@1';

function request(text: string) {
  return parseRequest('chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] });
}

/** A hash-stable subset: how many pairs of each set a sampled run uses. */
export interface Sample {
  /** pairs of the qqp test split */
  test: number;
  /** pairs of paraphrase-easy */
  easy: number;
}

/**
 * The `n` pairs of `pairs` with the smallest FNV-1a hash of their text (salted apart from the tune/test split's
 * hash): the same subset on every machine and run, whatever the file order, and nested (a larger n keeps the smaller
 * subset). Kept in file order.
 */
export function hashSample(pairs: Pair[], n: number): Pair[] {
  if (n >= pairs.length) return pairs;
  const keyed = pairs.map((p, i) => ({ i, h: fnv1a32(`sample\u0001${p.a}\u0000${p.b}`) }));
  const keep = new Set(keyed.sort((x, y) => x.h - y.h || x.i - y.i).slice(0, n).map((k) => k.i));
  return pairs.filter((_, i) => keep.has(i));
}

/**
 * Load qqp (split) and paraphrase-easy, with USE-lite embeddings for every sentence (cached on disk). With `sample`,
 * only a hash-stable subset of the test split and of paraphrase-easy is kept and embedded (tune is then empty).
 */
export async function loadData(opts: { sample?: Sample } = {}) {
  const qqp = loadPairs(resolve(DATA_DIR, 'qqp-dev.jsonl'));
  const easy = loadPairs(resolve(DATA_DIR, 'paraphrase-easy.jsonl'));
  const split = splitQqp(qqp);
  if (opts.sample) {
    const test = hashSample(split.test, opts.sample.test);
    const easySample = hashSample(easy, opts.sample.easy);
    // With the full sets' vectors on disk, the sample reads them from there; otherwise it embeds only its own.
    const all = [...qqp, ...easy].flatMap((p) => [p.a, p.b]);
    const table = await embedSentences(isCached(all) ? all : [...test, ...easySample].flatMap((p) => [p.a, p.b]));
    return { tune: [] as Pair[], test, easy: easySample, table, full: { test: split.test.length, easy: easy.length } };
  }
  // The same sentence set as bench/quality/threshold.ts, so both share one embedding cache file.
  const table = await embedSentences([...qqp, ...easy].flatMap((p) => [p.a, p.b]));
  return { ...split, easy, table, full: { test: split.test.length, easy: easy.length } };
}

export type QualityData = Awaited<ReturnType<typeof loadData>>;

/** Store every `a` of `pairs` in one cache, then look up every `b`. */
export async function replay(pairs: Pair[], table: EmbeddingTable): Promise<Query[]> {
  const store = new MemoryStore({ maxEntries: 1_000_000, largeIndex: hnswFactory() });
  const ctx = { tenant: 't', namespace: '', embedderId: EMBEDDER_ID };
  const vec = (s: string) => {
    const r = table.rowOf(s);
    return table.vectors.subarray(r * table.dim, (r + 1) * table.dim);
  };
  for (const a of new Set(pairs.map((p) => p.a))) {
    const key = await buildKey(request(a), ctx);
    await store.put(
      {
        id: entryId(key.scope, key.textKey),
        scope: key.scope,
        textKey: key.textKey,
        text: a,
        vector: vec(a),
        response: null,
        endpoint: 'chat',
        model: 'gpt-4o-mini',
        tenant: 't',
        namespace: '',
        createdAt: 0,
        expiresAt: Number.MAX_SAFE_INTEGER,
      },
      10 ** 9,
    );
  }
  const out: Query[] = [];
  for (const pair of pairs) {
    const key = await buildKey(request(pair.b), ctx);
    const exact = await store.getExact(key.scope, key.textKey);
    if (exact) out.push({ pair, exact: true, candidates: [{ entry: exact, score: 1 }] });
    else out.push({ pair, exact: false, candidates: await store.search(key.scope, vec(pair.b), K) });
  }
  return out;
}

export interface Outcome {
  served: number;
  correct: number;
  positives: number;
  queries: number;
  precision: number;
  recall: number;
  hitRatio: number;
}

/**
 * Score a decision rule over replayed queries. A served hit is right when it is the query's own pair and the pair
 * is labelled a duplicate, or when the stored question is the query's very text (after whitespace normalisation):
 * an identical question has the same answer, even when it came from another pair of the data set.
 */
export function score(queries: Query[], choose: (q: Query) => Candidate | undefined): Outcome {
  let served = 0;
  let correct = 0;
  let positives = 0;
  for (const q of queries) {
    if (q.pair.label === 1) positives++;
    const c = choose(q);
    if (!c) continue;
    served++;
    if ((q.pair.label === 1 && c.entry.text === q.pair.a) || normaliseText(c.entry.text) === normaliseText(q.pair.b)) correct++;
  }
  return {
    served,
    correct,
    positives,
    queries: queries.length,
    precision: served ? correct / served : 1,
    recall: positives ? correct / positives : 0,
    hitRatio: served / queries.length,
  };
}
