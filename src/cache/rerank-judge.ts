/**
 * @module cache/rerank-judge: a cross-encoder decides borderline candidates, for the Worker (Workers AI's
 * `@cf/baai/bge-reranker-base`). It reads the two texts together, which a bi-encoder's cosine cannot, and needs no
 * credentials, so it judges requests of every API. Anything but a score at or over `minScore` (an error included)
 * counts as "different": the request then goes upstream as a miss.
 */
import { LRUCache } from 'lru-cache';
import type { RequestHeaders } from '../http/types.js';
import type { JudgeVerdict, PairJudge } from './judge.js';

/** Runs the model: Workers AI's `AI.run`. */
export type RunModel = (model: string, inputs: Record<string, unknown>) => Promise<unknown>;

export const RERANKER_DEFAULT_MODEL = '@cf/baai/bge-reranker-base';

export interface RerankJudgeOptions {
  run: RunModel;
  /** @default @cf/baai/bge-reranker-base */
  model?: string;
  /**
   * relevance (0..1) the pair needs to count as the same request. Not calibrated here (the model cannot run
   * offline): strict, as for every model Reprise has not measured. @default 0.9
   */
  minScore?: number;
  /** ms the model may take before its answer counts as "different" @default 2000 */
  timeoutMs?: number;
  /** verdicts remembered, by pair @default 10000 */
  memo?: number;
}

/** Characters of remembered pairs, at most. */
const MEMO_CHARS = 4 * 1024 * 1024;

export class RerankJudge implements PairJudge {
  readonly anyApi = true;
  private readonly memo: LRUCache<string, 'same' | 'different'>;

  constructor(private readonly opts: RerankJudgeOptions) {
    this.memo = new LRUCache({ max: opts.memo ?? 10_000, maxSize: MEMO_CHARS, sizeCalculation: (_v, k) => k.length });
  }

  async judge(query: string, candidate: string, _headers: RequestHeaders, tenant: string): Promise<JudgeVerdict> {
    // Remembered per tenant: a remembered verdict answers at once, and no caller may time another's questions.
    const key = `${tenant}\u0000${query}\u0000${candidate}`;
    const known = this.memo.get(key);
    if (known) return known;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const answer = await Promise.race([
        this.opts.run(this.opts.model ?? RERANKER_DEFAULT_MODEL, { query, contexts: [{ text: candidate }] }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('reranker timed out')), this.opts.timeoutMs ?? 2000))),
      ]);
      const score = scoreOf(answer);
      if (score === undefined) return 'error';
      const verdict = score >= (this.opts.minScore ?? 0.9) ? 'same' : 'different';
      this.memo.set(key, verdict);
      return verdict;
    } catch {
      return 'error';
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The one context's score from `{ response: [{ id, score }] }`. */
function scoreOf(answer: unknown): number | undefined {
  const rows = (answer as { response?: unknown })?.response;
  if (!Array.isArray(rows)) return undefined;
  const row = rows.find((r) => (r as { id?: unknown })?.id === 0) ?? rows[0];
  const score = (row as { score?: unknown })?.score;
  return typeof score === 'number' && Number.isFinite(score) ? score : undefined;
}
