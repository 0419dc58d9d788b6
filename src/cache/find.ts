/**
 * @module cache/find: a request's tenant, cache key and lookup, computed the same way wherever a request is
 * answered: the app's cached route, and on Node the fast path, which serves hits before the app sees a request.
 */
import type { Embedder } from '../embed/types.js';
import type { Metrics } from '../observe/metrics.js';
import type { ParsedRequest } from '../openai/request.js';
import type { Entry, Store } from '../store/types.js';
import type { ErrorBudget } from './error-budget.js';
import type { LlmJudge } from './judge.js';
import { buildKey, type CacheKey } from './key.js';
import { lookup, type Lookup } from './lookup.js';
import type { CachePolicy } from './policy.js';
import { tenantOf } from './tenant.js';
import type { LoadedVerifier } from './verify.js';

export interface FindDeps {
  store: Store;
  metrics: Metrics;
  now: () => number;
  sharedCache: boolean;
  /** operator's threshold; undefined = the verifier's floor, or the embedder's default without one */
  threshold?: number;
  /** the learned verifier for an embedder id, when it is switched on and one ships */
  verifierFor: (embedderId: string) => LoadedVerifier | undefined;
  /** --max-error-rate: per-entry thresholds learned under an error budget */
  budget?: ErrorBudget;
  /** --judge-model: an LLM through the upstream decides candidates within `band` of the threshold */
  judge?: { judge: LlmJudge; band: number };
}

export interface Found {
  tenant: string;
  key: CacheKey;
  /** undefined when the request's controls do not let it read the cache */
  found?: Lookup;
}

/** Key the request, then look it up (exact, then semantic) if its controls allow reading. A hit returned is served. */
export async function find(deps: FindDeps, parsed: ParsedRequest, headers: Headers, policy: CachePolicy, embedder: Embedder): Promise<Found> {
  const tenant = await tenantOf(headers, deps.sharedCache);
  const key = await buildKey(parsed, { tenant, namespace: policy.namespace, embedderId: embedder.id });
  if (!policy.read) return { tenant, key };

  const verifier = deps.verifierFor(embedder.id);
  const threshold = deps.threshold ?? verifier?.model.floor ?? embedder.defaultThreshold;
  const { budget, metrics } = deps;
  const judge = deps.judge && {
    band: deps.judge.band,
    ask: async (query: string, candidate: Entry) => {
      // The judge asks the upstream with the caller's own credentials.
      const verdict = await deps.judge!.judge.judge(query, candidate.text, headers);
      metrics.judged(verdict);
      return verdict;
    },
  };
  const found = await lookup(
    { store: deps.store, embedder, threshold, ...(verifier && { verifier }), ...(budget && { budget }), ...(judge && { judge }), now: deps.now },
    key,
    policy,
  );
  if (budget && found.kind === 'hit' && found.match === 'semantic') {
    // Whoever writes the response, this hit is served: the budget counts it now.
    budget.served(found.entry.id, found.score);
    metrics.budgetDecision('serve');
  }
  return { tenant, key, found };
}
