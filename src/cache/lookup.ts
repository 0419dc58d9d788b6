/**
 * @module cache/lookup: exact tier first (no embedding needed), then embed → vector search in scope → verify.
 * A fault in any stage is reported, not thrown, so the caller can fail open.
 */
import type { Embedder } from '../embed/types.js';
import type { FaultStage } from '../observe/metrics.js';
import type { Entry, Store } from '../store/types.js';
import type { CacheKey } from './key.js';
import type { ErrorBudget } from './error-budget.js';
import type { JudgeVerdict } from './judge.js';
import type { CachePolicy } from './policy.js';
import { verify, type LoadedVerifier } from './verify.js';

/** A candidate the error budget would not serve yet: the request goes upstream and its answer labels the pair. */
export interface Exploration {
  entry: Entry;
  score: number;
  /** chosen at random from would-be hits, to measure the served error rate */
  sampled: boolean;
}

export type Lookup =
  | { kind: 'hit'; entry: Entry; match: 'exact' | 'semantic'; score: number }
  | { kind: 'miss'; reason: string; vector?: Float32Array; explore?: Exploration }
  | { kind: 'fault'; stage: FaultStage; error: unknown; vector?: Float32Array };

export interface LookupDeps {
  store: Store;
  embedder: Embedder;
  /** cosine a candidate needs when the request does not say */
  threshold: number;
  /** the learned verifier for this embedder, if on */
  verifier?: LoadedVerifier;
  /** --max-error-rate: a semantic candidate that passed verification is served only if the budget allows */
  budget?: ErrorBudget;
  /** --judge-model: asked about candidates that pass with a similarity under threshold + band */
  judge?: { band: number; ask: (query: string, candidate: Entry) => Promise<JudgeVerdict> };
  now: () => number;
}

/** Candidates considered per search: the nearest one may fail a guard while the next passes. */
const TOP_K = 4;

export async function lookup(deps: LookupDeps, key: CacheKey, policy: CachePolicy): Promise<Lookup> {
  const fresh = (e: Entry) => policy.maxAge === undefined || deps.now() - e.createdAt <= policy.maxAge * 1000;

  let exact: Entry | undefined;
  try {
    exact = await deps.store.getExact(key.scope, key.textKey);
  } catch (error) {
    return { kind: 'fault', stage: 'lookup', error };
  }
  if (exact && fresh(exact)) return { kind: 'hit', entry: exact, match: 'exact', score: 1 };
  if (!key.semantic) return { kind: 'miss', reason: 'exact-only' };

  let vector: Float32Array;
  try {
    [vector] = (await deps.embedder.embed([key.text])) as [Float32Array];
  } catch (error) {
    return { kind: 'fault', stage: 'embed', error };
  }
  let candidates;
  try {
    candidates = (await deps.store.search(key.scope, vector, TOP_K)).filter((c) => fresh(c.entry));
  } catch (error) {
    return { kind: 'fault', stage: 'search', error, vector };
  }
  const threshold = policy.threshold ?? deps.threshold;
  const verdict = verify(key.text, candidates, {
    threshold,
    ...(deps.verifier && { verifier: deps.verifier }),
    vector,
  });
  if (!verdict.ok) return { kind: 'miss', reason: verdict.reason, vector };
  const { entry, score } = verdict.candidate;
  if (deps.judge && score < threshold + deps.judge.band) {
    const said = await deps.judge.ask(key.text, entry);
    if (said !== 'same') return { kind: 'miss', reason: `judge-${said}`, vector };
  }
  const allowed = deps.budget?.decide(entry.id, score) ?? { serve: true as const };
  if (allowed.serve) return { kind: 'hit', entry, match: 'semantic', score };
  return { kind: 'miss', reason: `budget-${allowed.reason}`, vector, explore: { entry, score, sampled: allowed.reason === 'sampled' } };
}
