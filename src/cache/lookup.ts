/**
 * @module cache/lookup: the two lookups. The exact one needs no embedding (scope + text key, one store read); the
 * semantic one embeds the query, searches its scope, and verifies the candidates. A fault in any stage is reported,
 * not thrown, so the caller can fail open.
 */
import { EmbedBusyError } from '../embed/batcher.js';
import type { Embedder } from '../embed/types.js';
import type { FaultStage } from '../observe/metrics.js';
import type { Entry, Store } from '../store/types.js';
import type { ErrorBudget } from './error-budget.js';
import type { JudgeVerdict } from './judge.js';
import { embeddedPart, type CacheKey } from './key.js';
import type { CachePolicy } from './policy.js';
import { verify, type LoadedVerifier } from './verify.js';

/** A candidate the error budget would not serve yet: the request goes upstream and its answer labels the pair. */
export interface Exploration {
  entry: Entry;
  score: number;
  /** chosen at random from would-be hits, to measure the served error rate */
  sampled: boolean;
}

/** What a semantic lookup saw, for the metrics: the embedding's time and batch, and the best candidate and its fate. */
export interface Seen {
  embedMs?: number;
  /** texts in the model call that embedded the query; undefined when it was remembered */
  batch?: number;
  /** the best candidate's similarity, when there was one */
  best?: number;
  /** why no candidate was served: below-threshold, guard-<name>, verifier, judge-<verdict>, budget-<why> */
  refusal?: string;
}

export type Lookup =
  | { kind: 'hit'; entry: Entry; match: 'exact' | 'semantic'; score: number; seen?: Seen }
  | { kind: 'miss'; reason: string; vector?: Float32Array; explore?: Exploration; seen?: Seen }
  | { kind: 'fault'; stage: FaultStage; error: unknown };

/** May `entry` be served under `policy` (`Cache-Control: max-age`)? */
export function fresh(entry: Entry, policy: CachePolicy, now: number): boolean {
  return policy.maxAge === undefined || now - entry.createdAt <= policy.maxAge * 1000;
}

/** The entry stored under exactly this scope and text key, if it may be served. */
export async function exactLookup(store: Store, at: { scope: string; textKey: string }, policy: CachePolicy, now: () => number): Promise<Lookup> {
  let entry: Entry | undefined;
  try {
    entry = await store.getExact(at.scope, at.textKey);
  } catch (error) {
    return { kind: 'fault', stage: 'lookup', error };
  }
  return entry && fresh(entry, policy, now()) ? { kind: 'hit', entry, match: 'exact', score: 1 } : { kind: 'miss', reason: 'none' };
}

export interface SemanticDeps {
  store: Store;
  embedder: Embedder;
  /** whose query this is: the embedding memo is kept apart per tenant */
  tenant: string;
  /** ms the embedding may wait to start (--embed-wait); past it the lookup is skipped, as 'embed-busy' */
  maxWaitMs?: number;
  /** cosine a candidate needs when the request does not say */
  threshold: number;
  /** the learned verifier for this embedder, if on */
  verifier?: LoadedVerifier;
  /** --max-error-rate: a semantic candidate that passed verification is served only if the budget allows */
  budget?: ErrorBudget;
  /** --judge-model: asked about candidates that pass with a similarity under threshold + band */
  judge?: { band: number; ask: (query: string, candidate: string) => Promise<JudgeVerdict> };
  now: () => number;
}

/** Texts up to this length are compared whole by the guards; longer ones by what the embedder read of them. */
const GUARD_WHOLE = 8_192;

/** Candidates considered per search: the nearest one may fail a guard while the next passes. */
export const TOP_K = 4;

export async function semanticLookup(deps: SemanticDeps, key: CacheKey, policy: CachePolicy): Promise<Lookup> {
  let vector: Float32Array;
  const seen: Seen = {};
  const t0 = performance.now();
  try {
    [vector] = (await deps.embedder.embed([key.embedText], {
      partition: deps.tenant,
      ...(deps.maxWaitMs !== undefined && { maxWaitMs: deps.maxWaitMs }),
      onModelCall: (n) => (seen.batch = n),
    })) as [Float32Array];
    seen.embedMs = performance.now() - t0;
  } catch (error) {
    // Too busy to embed in time is not a fault: the request goes upstream without the semantic lookup.
    if (error instanceof EmbedBusyError) return { kind: 'miss', reason: 'embed-busy' };
    return { kind: 'fault', stage: 'embed', error };
  }
  let candidates;
  try {
    candidates = (await deps.store.search(key.scope, vector, TOP_K, deps.tenant)).filter((c) => fresh(c.entry, policy, deps.now()));
  } catch (error) {
    return { kind: 'fault', stage: 'search', error };
  }
  // The same text, stored since the exact lookup missed (by a request that ended meanwhile, or another replica):
  // that is an exact hit, whatever the budget or the judge would say of a paraphrase.
  const same = candidates.find((c) => c.entry.textKey === key.textKey);
  if (same) return { kind: 'hit', entry: same.entry, match: 'exact', score: 1, seen };
  if (candidates.length > 0) seen.best = candidates[0]!.score;

  const threshold = policy.threshold ?? deps.threshold;
  const inputLength = deps.embedder.inputLength?.bind(deps.embedder);
  // The embedded part of a long text, cut exactly as the key cuts it (cache/key.ts): the query's is on its key.
  const cut = inputLength ? (t: string) => (t.length <= GUARD_WHOLE ? t : t === key.text ? key.embedText : embeddedPart(t, inputLength)) : undefined;
  const verdict = verify(key.text, candidates, {
    threshold,
    ...(deps.verifier && { verifier: deps.verifier }),
    vector,
    partition: deps.tenant,
    ...(cut && { cut }),
  });
  if (!verdict.ok) {
    if (verdict.reason !== 'none') seen.refusal = verdict.guard ? `guard-${verdict.guard}` : verdict.reason;
    return { kind: 'miss', reason: verdict.reason, vector, seen };
  }
  const { entry, score } = verdict.candidate;
  if (deps.judge && score < threshold + deps.judge.band) {
    // The judge reads what the guards read: a long prompt's head (its tail is in the scope, so it is the same).
    const said = await deps.judge.ask(cut ? cut(key.text) : key.text, cut ? cut(entry.text) : entry.text);
    if (said !== 'same') return { kind: 'miss', reason: (seen.refusal = `judge-${said}`), vector, seen };
  }
  const allowed = deps.budget?.decide(entry.id, score) ?? { serve: true as const };
  if (allowed.serve) return { kind: 'hit', entry, match: 'semantic', score, seen };
  return { kind: 'miss', reason: (seen.refusal = `budget-${allowed.reason}`), vector, explore: { entry, score, sampled: allowed.reason === 'sampled' }, seen };
}
