/**
 * @module cache/verify: decide whether a nearby entry really answers this query. Precision comes first: a wrong
 * cached answer is worse than a miss. A candidate must clear the cosine floor and the hard guards; then, where a
 * learned verifier exists for the embedder, its probability must clear the calibrated cut. The best-scoring
 * candidate of the top-k wins, so a near neighbour that fails does not hide a farther one that passes.
 */
import type { Candidate } from '../store/types.js';
import { pairFeatures, sameContent, sameWords } from './verifier/features.js';

/** Similarity from which the same content in other courtesy is served without the network (USE-lite's guards-only threshold was 0.91). */
export const SAME_CONTENT_MIN = 0.9;
import { failedGuard, type Guard } from './verifier/guards.js';
import { Mlp, type MlpWeights } from './verifier/mlp.js';

export type Verdict =
  | { ok: true; candidate: Candidate; probability?: number }
  /** `guard`: the first guard the nearest refused candidate failed */
  | { ok: false; reason: 'none' | 'below-threshold' | 'guard' | 'verifier'; guard?: Guard };

/** A learned verifier as shipped: the MLP plus the operating point chosen for it. */
export interface VerifierModel {
  /** cosine below which candidates are not considered */
  floor: number;
  /** probability a candidate needs to be served */
  cut: number;
  /**
   * cosine at or above which a candidate that passed the guards is served whatever the model says. The network is
   * not monotone in similarity: trained on Quora, whose duplicates are rarely near-identical, it doubts some
   * rephrasings that differ by a word ("how do I" / "how can I"). Chosen with the cut, on calibration data.
   * Absent: the model decides everywhere.
   */
  acceptAbove?: number;
  mlp: MlpWeights;
  trainedOn: string;
  textFeatures: number;
}

export interface LoadedVerifier {
  model: VerifierModel;
  mlp: Mlp;
}

export function loadVerifier(model: VerifierModel): LoadedVerifier {
  return { model, mlp: new Mlp(model.mlp) };
}

/**
 * Details that must match exactly, whatever a model thinks: numbers, versions and dates (digits and number words);
 * ordinals and position words; negation; quoted literals; direction words and units; names; indentation; and the
 * order of a relation's slot fillers. Serving "capital of France" for "capital of Germany" is the bug users
 * see, so each of these is a hard rule, paid for with some recall.
 */
export function failedHardGuard(query: string, candidate: string, partition?: string): Guard | undefined {
  return failedGuard(query, candidate, partition);
}

export interface VerifyOptions {
  /** cosine a candidate needs */
  threshold: number;
  /** the learned verifier, when one exists for this embedder and is switched on */
  verifier?: LoadedVerifier;
  /** the query's vector; the learned verifier needs it */
  vector?: Float32Array;
  /** what of a text the guards compare: the part the embedder read */
  cut?: (text: string) => string;
  /** whose texts these are: the guards' memo of each text's facts is kept apart per tenant (no timing oracle) */
  partition?: string;
}

export function verify(query: string, candidates: Candidate[], opts: VerifyOptions): Verdict {
  if (candidates.length === 0) return { ok: false, reason: 'none' };
  const best = candidates[0]!.score;
  const { verifier, vector } = opts;
  let reason: 'below-threshold' | 'guard' | 'verifier' = 'below-threshold';
  let guard: Guard | undefined;
  let chosen: { candidate: Candidate; probability?: number } | undefined;
  for (let rank = 0; rank < candidates.length; rank++) {
    const c = candidates[rank]!;
    if (c.score < opts.threshold) continue;
    // A long text is compared by what the embedder read of it: texts in one scope share what was cut (its hash is
    // in the scope), and regexes over megabytes would stall every request on this thread.
    const [q, t] = opts.cut ? [opts.cut(query), opts.cut(c.entry.text)] : [query, c.entry.text];
    const failed = failedHardGuard(q, t, opts.partition);
    if (failed) {
      if (reason === 'below-threshold') {
        reason = 'guard';
        guard = failed;
      }
      continue;
    }
    // Without a model, the first (nearest) candidate that passes wins: the rest need no checking. So it does with
    // one, when that candidate is near enough that the guards alone decide.
    if (!verifier || !vector || !c.entry.vector) return { ok: true, candidate: c };
    // So do the same words in the same order, however the spacing moved the vectors, and, when close, the same
    // content in other courtesy: the network learned from Quora, where such pairs are rare, and doubts them.
    if (!chosen && ((verifier.model.acceptAbove !== undefined && c.score >= verifier.model.acceptAbove) || sameWords(q, t) || (c.score >= SAME_CONTENT_MIN && sameContent(q, t)))) {
      return { ok: true, candidate: c };
    }
    const p = verifier.mlp.predict(pairFeatures(query, vector, c.entry.text, c.entry.vector, c.score, rank, best - c.score));
    if (p < verifier.model.cut) {
      reason = 'verifier';
      continue;
    }
    if (!chosen || p > (chosen.probability ?? 0)) chosen = { candidate: c, probability: p };
  }
  return chosen ? { ok: true, ...chosen } : { ok: false, reason, ...(guard && { guard }) };
}
