/**
 * @module cache/error-budget: per-entry thresholds under an error budget (`--max-error-rate`), in the spirit of
 * vCache (arXiv 2502.03771). A candidate that passed the static checks is served only when the evidence says the
 * chance it is wrong is within the budget; otherwise the request is *explored*: forwarded upstream like a miss, and
 * the fresh answer is compared with the candidate's to label the pair. Labels (and client feedback) teach two things:
 *
 * - per entry, how close a query must be: a wrong label at similarity s means this entry needs more than s; a right
 *   label at s means queries at s or closer are safe for it (similarity is assumed monotone per entry, as in vCache);
 * - across entries, the error rate of serving at each similarity, which prices an entry with little evidence.
 *
 * A small share of would-be hits is explored anyway (sampled verification), so the error rate of what is served is
 * measured without bias, and drift is noticed. Web-standard only: runs on Workers too.
 */
import { LRUCache } from 'lru-cache';

export interface ErrorBudgetOptions {
  /** largest acceptable share of wrong semantic hits, e.g. 0.02 */
  maxErrorRate: number;
  /** share of would-be hits explored anyway to measure the served error rate @default 0.05 */
  sampleRate?: number;
  /** entries whose evidence is kept @default 100_000 */
  maxEntries?: number;
  /** uniform [0,1) source; tests pass a seeded one @default Math.random */
  random?: () => number;
}

/**
 * One piece of evidence as replicas share it (cache/budget-share.ts): a query at `score` to `entryId` was answered
 * right or wrong by that entry; `sampled` from sampled verification, `reported` from a client's report of a wrong hit.
 */
export interface BudgetLabel {
  entryId: string;
  score: number;
  correct: boolean;
  sampled: boolean;
  reported: boolean;
  /** hits served by the replica that learned it since its previous label: weighs reports against served hits in order */
  served?: number;
}

/** A hit served from `entryId` at similarity `score`, shared so a report of it can be placed on any replica. */
export interface ServedHit {
  entryId: string;
  score: number;
}

export type BudgetDecision =
  | { serve: true }
  | { serve: false; reason: 'entry-wrong-closer' | 'uncertain' | 'sampled' };

/** What one entry has taught: similarities of labelled queries, split by outcome. */
interface EntryEvidence {
  /** similarities at which a query was answered right by this entry */
  right: number[];
  /** similarities at which this entry's answer was wrong */
  wrong: number[];
  /** similarity of the latest hit served from this entry, for feedback that names only the entry */
  lastServed?: number;
}

/** Served hits kept between shares (oldest dropped first): a report of an older one is not placed elsewhere. */
const MAX_UNSHARED_HITS = 1_000;
/** Per entry, the most recent labels kept (oldest dropped first). */
const PER_ENTRY = 32;
/** Similarity bins for the pooled error rate. */
const BINS = 200;
/** Weight of the pooled rate against one entry's own labels (pseudo-observations). */
const PRIOR_WEIGHT = 2;
/** z for a one-sided ~97.5% Wilson upper bound. */
const Z = 1.96;

export interface BudgetStats {
  maxErrorRate: number;
  /** labels learned from explored requests and feedback */
  labels: { right: number; wrong: number };
  /** sampled verification of would-be hits: how many were checked and how many were wrong */
  sampled: { checked: number; wrong: number };
  /** factor the error bound is scaled by after measured errors (1 = as the evidence says) */
  strictness: number;
  /** wrong hits reported by clients and placed */
  reported: number;
  /** wrong/checked of the sampled would-be hits (an unbiased estimate of the served error rate); undefined until one was checked */
  measuredErrorRate?: number;
}

export class ErrorBudget {
  readonly maxErrorRate: number;
  private readonly sampleRate: number;
  private readonly random: () => number;
  private readonly entries: LRUCache<string, EntryEvidence>;
  private readonly right = new Float64Array(BINS + 1);
  private readonly wrong = new Float64Array(BINS + 1);
  private readonly sampled = { checked: 0, wrong: 0 };
  private reported = 0;
  /**
   * How much stricter than the evidence the decision is. Per-entry evidence assumes closeness is monotone; where
   * traffic breaks that (noisy labels, answers that vary), the measured error shows it, and the bound is scaled up
   * until the measurement is back under budget. Counted in a window that restarts at each change.
   */
  private strictness = 1;
  private window = { served: 0, reported: 0, checked: 0, wrong: 0 };
  /** told of every label learned here (not of those absorbed from other replicas), to share them */
  private listener: ((label: BudgetLabel) => void) | undefined;
  /** told of every hit served here, to share how many */
  private servedListener: (() => void) | undefined;
  /** hits served here since the last takeServed() */
  private servedUnshared = 0;
  /** which hits were served here since the last takeHits(): other replicas place reports of them */
  private hitsUnshared: ServedHit[] = [];

  constructor(opts: ErrorBudgetOptions) {
    if (!(opts.maxErrorRate > 0 && opts.maxErrorRate < 1)) throw new RangeError('maxErrorRate must be between 0 and 1');
    this.maxErrorRate = opts.maxErrorRate;
    this.sampleRate = opts.sampleRate ?? 0.05;
    this.random = opts.random ?? Math.random;
    this.entries = new LRUCache({ max: opts.maxEntries ?? 100_000 });
  }

  /** May `entryId`'s answer be served to a query at similarity `score`? */
  decide(entryId: string, score: number): BudgetDecision {
    const e = this.entries.get(entryId);
    if (e?.wrong.some((w) => w >= score)) return { serve: false, reason: 'entry-wrong-closer' };
    if (this.strictness * this.errorBound(e, score) > this.maxErrorRate) return { serve: false, reason: 'uncertain' };
    if (this.random() < this.sampleRate) return { serve: false, reason: 'sampled' };
    return { serve: true };
  }

  /** Remember the similarity a hit was served at, so feedback naming only the entry can be placed. */
  served(entryId: string, score: number): void {
    this.evidence(entryId).lastServed = score;
    this.window.served++;
    this.servedUnshared++;
    this.hitsUnshared.push({ entryId, score });
    if (this.hitsUnshared.length > MAX_UNSHARED_HITS) this.hitsUnshared.shift();
    this.servedListener?.();
  }

  /** Be told of each label this budget learns from now on (its own, not absorbed ones), and of each hit served. One of each. */
  onLabel(listener: ((label: BudgetLabel) => void) | undefined, onServed?: () => void): void {
    this.listener = listener;
    this.servedListener = onServed;
  }

  /** How many hits were served here since the last call: shared beside the labels, so reports are weighed against every replica's hits. */
  takeServed(): number {
    const n = this.servedUnshared;
    this.servedUnshared = 0;
    return n;
  }

  /** Served hits taken but not shared after all (the send failed): counted in the next batch. */
  restoreServed(n: number): void {
    this.servedUnshared += n;
  }

  /** Which hits were served here since the last call, with their similarity: shared so any replica can place a report. */
  takeHits(): ServedHit[] {
    const hits = this.hitsUnshared;
    this.hitsUnshared = [];
    return hits;
  }

  /** Hits taken but not shared after all (the send failed): sent with the next batch, within the bound. */
  restoreHits(hits: readonly ServedHit[]): void {
    this.hitsUnshared = [...hits, ...this.hitsUnshared].slice(-MAX_UNSHARED_HITS);
  }

  /**
   * Labels and served hits another replica learned, applied as if learned here, in its order (the pooled rate, the
   * entry's evidence, sampled checks and reports steering strictness), and not passed to the listener again.
   * `served`: hits it served after its last label; `hits`: which hits it served, so a client's report of one, made
   * to this replica, is placed at the similarity it was served at.
   */
  absorb(labels: readonly BudgetLabel[], served = 0, hits: readonly ServedHit[] = []): void {
    for (const l of labels) {
      if (!(typeof l.entryId === 'string' && Number.isFinite(l.score))) continue;
      if (l.served !== undefined && l.served > 0) this.window.served += l.served;
      this.apply(l.entryId, l.score, l.correct === true, l.sampled === true);
      if (l.reported === true) this.countReport();
    }
    if (served > 0) this.window.served += served;
    for (const h of hits) if (typeof h.entryId === 'string' && Number.isFinite(h.score)) this.evidence(h.entryId).lastServed = h.score;
  }

  /**
   * A labelled pair: a query at `score` to `entryId` was (or was not) answered right by that entry's answer.
   * `sampled` marks labels from sampled verification of would-be hits, which measure the served error rate.
   */
  learn(entryId: string, score: number, correct: boolean, sampled = false): void {
    this.apply(entryId, score, correct, sampled);
    this.listener?.({ entryId, score, correct, sampled, reported: false });
  }

  private apply(entryId: string, score: number, correct: boolean, sampled: boolean): void {
    const e = this.evidence(entryId);
    const list = correct ? e.right : e.wrong;
    list.push(score);
    if (list.length > PER_ENTRY) list.shift();
    (correct ? this.right : this.wrong)[bin(score)]!++;
    if (sampled) {
      this.sampled.checked++;
      this.window.checked++;
      if (!correct) {
        this.sampled.wrong++;
        this.window.wrong++;
      }
      this.steer();
    }
  }

  /**
   * A client said a hit from `entryId` was wrong. Returns whether it could be placed (a hit was served from that
   * entry by this process, or by another replica that shared it).
   */
  reportWrong(entryId: string): boolean {
    const at = this.entries.get(entryId)?.lastServed;
    if (at === undefined) return false;
    this.apply(entryId, at, false, false);
    this.countReport();
    this.listener?.({ entryId, score: at, correct: false, sampled: false, reported: true });
    return true;
  }

  private countReport(): void {
    this.reported++;
    this.window.reported++;
    this.steer();
  }

  /**
   * Tighten as soon as the measured error is over budget; relax, slowly, only when it is surely well under.
   * Asymmetric on purpose: a tightening costs hit rate, a wrong relaxation costs wrong answers.
   */
  private steer(): void {
    const w = this.window;
    const budget = this.maxErrorRate;
    const enough = 1 / budget;
    // Sampled checks estimate the served error rate; reports are a floor on it, since not every wrong hit is reported.
    const over = (w.checked >= enough && w.wrong / w.checked > budget) || (w.served >= enough && w.reported / w.served > budget);
    const under = this.strictness > 1 && w.checked >= 3 * enough && wilsonUpper(w.wrong, w.checked) < budget / 2;
    if (!over && !under) return;
    this.strictness = over ? Math.min(this.strictness * 2, 1 / budget) : Math.max(1, this.strictness / 2);
    this.window = { served: 0, reported: 0, checked: 0, wrong: 0 };
  }

  stats(): BudgetStats {
    let right = 0;
    let wrong = 0;
    for (let i = 0; i <= BINS; i++) {
      right += this.right[i]!;
      wrong += this.wrong[i]!;
    }
    const { checked, wrong: sw } = this.sampled;
    return {
      maxErrorRate: this.maxErrorRate,
      labels: { right, wrong },
      sampled: { ...this.sampled },
      reported: this.reported,
      strictness: this.strictness,
      ...(checked > 0 && { measuredErrorRate: sw / checked }),
    };
  }

  /**
   * An upper estimate of P(wrong) for this entry at this similarity. The pooled rate of serving at `score` or closer
   * (a Wilson upper bound, so little evidence means a high bound) is the prior; each right label this entry earned
   * at `score` or farther is evidence that the query is safe for it, and shrinks the estimate.
   */
  private errorBound(e: EntryEvidence | undefined, score: number): number {
    let right = 0;
    let wrong = 0;
    for (let i = bin(score); i <= BINS; i++) {
      right += this.right[i]!;
      wrong += this.wrong[i]!;
    }
    const pooled = wilsonUpper(wrong, right + wrong);
    const own = e ? e.right.filter((r) => r <= score).length : 0;
    return (PRIOR_WEIGHT * pooled) / (PRIOR_WEIGHT + own);
  }

  private evidence(entryId: string): EntryEvidence {
    let e = this.entries.get(entryId);
    if (!e) this.entries.set(entryId, (e = { right: [], wrong: [] }));
    return e;
  }
}

function bin(score: number): number {
  return Math.min(BINS, Math.max(0, Math.floor(score * BINS)));
}

/** Lower end of the Wilson score interval for k failures in n trials; 0 with no trials. */
export function wilsonLower(k: number, n: number): number {
  if (n === 0) return 0;
  return Math.max(0, 1 - wilsonUpper(n - k, n));
}

/** Upper end of the Wilson score interval for k failures in n trials; 1 with no trials. */
export function wilsonUpper(k: number, n: number): number {
  if (n === 0) return 1;
  const p = k / n;
  const z2 = Z * Z;
  const centre = p + z2 / (2 * n);
  const spread = Z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return Math.min(1, (centre + spread) / (1 + z2 / n));
}
