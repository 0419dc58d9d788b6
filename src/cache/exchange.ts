/**
 * @module cache/exchange: one forwarded answer on its way from upstream to the client (DESIGN: forward / tee /
 * capture). It gives the client upstream's head after header hygiene, with the cache headers; it shares the bytes
 * with the single-flight's joiners; and on a clean end of a 2xx answer it stores a copy, before the front ends the
 * client's response, so a client that has read its whole answer finds it cached. Errors, aborted or truncated
 * answers and `no-store` requests are never stored.
 */
import type { Embedder } from '../embed/types.js';
import type { ClientHead, HeaderList, Reply } from '../http/types.js';
import { brokenStreamTail, errorReply, OPENAI_ERRORS, UpstreamError, type ErrorDialect } from '../openai/errors.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';
import type { Store } from '../store/types.js';
import { clientResponseHeaders } from '../upstream/headers.js';
import { answersAgree } from './answer-agreement.js';
import type { Backfill } from './backfill.js';
import { withCacheInfo, type CacheInfo } from './cache-headers.js';
import { Capture } from './capture.js';
import type { ErrorBudget } from './error-budget.js';
import type { CacheKey } from './key.js';
import type { Exploration } from './lookup.js';
import type { Exchange } from './outcome.js';
import type { CachePolicy } from './policy.js';
import type { Flight } from './single-flight.js';
import type { Release } from './upstream-slots.js';
import { storeAnswer } from './store-answer.js';
import type { ParsedRequest, WireApi } from './wire.js';

export interface ExchangeDeps {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  budget?: ErrorBudget;
  /** largest answer stored, JSON or stream (--max-entry-bytes) @default MAX_ANSWER_BYTES */
  maxAnswerBytes?: number;
  /** embeds, when the embedder is idle, entries stored without their vector */
  backfill?: Backfill;
  /**
   * false: nothing may outlive the request but the work end() returns (workerd: the front hands it to waitUntil), so
   * the error budget's label of an explored answer is part of it. @default true: the label runs in the background
   */
  backgroundWork?: boolean;
}

/** A miss: the answer may be stored, and may be shared with the flight's joiners. */
export interface MissPlan {
  wire: WireApi;
  parsed: ParsedRequest;
  key: CacheKey;
  tenant: string;
  policy: CachePolicy;
  embedder: Embedder;
  /** the query's vector, when the lookup computed it */
  vector?: Float32Array;
  /** a candidate the error budget sent upstream: the fresh answer labels it */
  explore?: Exploration;
  /** this request leads the single-flight for its key */
  lead?: { flight: Flight; end: () => void };
}

/** Statuses that never carry a body. */
const NO_BODY = new Set([204, 205, 304]);

/**
 * @param info what the client is told (X-Cache-Status, X-Cache-Reason)
 * @param miss absent for a forward that leaves the cache alone (bypass, fault, other routes)
 * @param errors the shape of Reprise's own errors for this route @default the miss's wire's, else OpenAI's
 */
export function createExchange(deps: ExchangeDeps, info: CacheInfo, miss?: MissPlan, release?: Release, errors?: ErrorDialect, timing?: Timing): Exchange {
  return new ForwardExchange(deps, info, miss, release ?? (() => {}), errors ?? miss?.wire.errors ?? OPENAI_ERRORS, timing);
}

/** A cached endpoint's forward is timed (observe/metrics.ts): from the request's arrival, and from the upstream call. */
export interface Timing {
  endpoint: string;
  /** performance.now() when the request came in */
  arrived: number;
  /** ms it waited for an upstream slot (--upstream-concurrency): neither Reprise's own work nor the upstream's */
  queuedMs: number;
}

/** A class rather than closures: one is made for every forwarded request. */
class ForwardExchange implements Exchange {
  private capture: Capture | undefined;
  private status = 0;
  /** a 2xx with a body: an answer that could be stored */
  private answered = false;
  private settled = false;
  /** the capture failed on the answer's bytes: it is passed on, not stored */
  private unreadable = false;
  private readonly flight: Flight | undefined;

  constructor(
    private readonly deps: ExchangeDeps,
    private readonly info: CacheInfo,
    private readonly miss: MissPlan | undefined,
    /** frees this call's upstream slot (cache/upstream-slots.ts) */
    private readonly freeSlot: Release,
    private readonly errors: ErrorDialect,
    private readonly timing?: Timing,
  ) {
    this.flight = miss?.lead?.flight;
  }
  /** performance.now() when the upstream call was decided: Reprise's own time ends here, the upstream's begins */
  private readonly called = performance.now();
  private clientHeaders: HeaderList = [];

  head(status: number, upstreamHeaders: HeaderList): ClientHead {
    this.status = status;
    if (this.timing) {
      const now = performance.now();
      const { arrived, endpoint, queuedMs } = this.timing;
      this.deps.metrics.timed(this.info.status, endpoint, { totalMs: now - arrived, ownMs: Math.max(0, this.called - arrived - queuedMs), upstreamMs: now - this.called });
    }
    const headers = clientResponseHeaders(upstreamHeaders);
    this.flight?.started(status, headers);
    this.answered = status >= 200 && status < 300 && !NO_BODY.has(status);
    if (this.miss && this.answered && this.miss.policy.write) this.capture = new Capture(this.miss.wire, isEventStream(headers), this.deps.maxAnswerBytes);
    this.clientHeaders = withCacheInfo(headers, this.info);
    return { status, headers: this.clientHeaders };
  }

  chunk(bytes: Uint8Array): void {
    if (this.capture) {
      try {
        this.capture.push(bytes);
      } catch (err) {
        // An answer the capture cannot read is not stored; the client still gets every byte of it.
        this.capture = undefined;
        this.unreadable = true;
        this.deps.logger.warn({ err: String(err) }, 'could not read the answer to store it');
      }
    }
    this.flight?.push(bytes);
  }

  end(): Promise<void> | undefined {
    if (this.settled) return;
    this.settled = true;
    this.freeSlot();
    const { miss, capture } = this;
    if (!miss) return;
    if (!capture) {
      this.notStored(this.unreadable ? 'unreadable' : this.answered ? 'no-store' : `status-${this.status}`);
      return;
    }
    let captured;
    try {
      captured = capture.finish();
    } catch (err) {
      this.deps.logger.warn({ err: String(err) }, 'could not read the answer to store it');
      captured = { ok: false as const, reason: 'unreadable' };
    }
    if (!captured.ok) {
      this.notStored(captured.reason);
      return;
    }
    const labelling = miss.explore && label(this.deps, miss, miss.explore, captured.answer);
    // The client's response ends once the answer is stored (a missing vector is filled in later, cache/backfill.ts).
    const storing = this.store(miss, captured.answer, captured.bytes);
    // Where work cannot go on in the background, the label (it embeds both answers) is done before the exchange ends.
    return labelling && this.deps.backgroundWork === false ? Promise.all([storing, labelling]).then(() => {}) : storing;
  }

  abort(reason: unknown): Uint8Array | undefined {
    if (!this.settled) {
      this.settled = true;
      this.freeSlot();
      if (this.miss) {
        this.deps.metrics.notStored('aborted');
        this.flight?.fail(reason);
        this.release();
      }
    }
    return brokenStreamTail(this.clientHeaders, reason, this.errors);
  }

  leaderGone(stop: () => void): boolean {
    return !this.settled && this.flight !== undefined && this.flight.leaderGone(stop);
  }

  error(err: unknown): Reply {
    if (err instanceof UpstreamError) this.deps.logger.warn({ status: err.status, err: err.detail }, 'upstream could not be reached');
    if (!this.settled) {
      this.settled = true;
      this.freeSlot();
      this.flight?.fail(err);
      this.release();
    }
    const reply = errorReply(err, this.errors);
    return { ...reply, headers: withCacheInfo(reply.headers, this.info) };
  }

  private async store(miss: MissPlan, answer: unknown, bytes: number): Promise<void> {
    const { deps } = this;
    try {
      const entry = await storeAnswer({ ...miss, store: deps.store, answer, bytes, now: deps.now(), ...(deps.backfill && { backfill: deps.backfill }) });
      deps.metrics.stored({ endpoint: miss.wire.endpoint, model: miss.parsed.model });
      this.flight?.finish(entry);
    } catch (err) {
      deps.metrics.fault('store');
      deps.logger.warn({ err: String(err) }, 'could not store answer');
      this.flight?.finish(undefined);
    } finally {
      this.release();
    }
  }

  private notStored(reason: string): void {
    this.deps.metrics.notStored(reason);
    this.flight?.finish(undefined);
    this.release();
  }

  private release(): void {
    this.miss?.lead?.end();
  }
}

function isEventStream(headers: HeaderList): boolean {
  return headers.some(([name, value]) => name === 'content-type' && value.includes('text/event-stream'));
}

/** An explored request completed: would the candidate's answer have done? Teach the budget either way. */
async function label(deps: ExchangeDeps, miss: MissPlan, explore: Exploration, fresh: unknown): Promise<void> {
  const budget = deps.budget;
  if (!budget) return;
  try {
    const correct = await answersAgree(miss.wire.answerText(fresh), miss.wire.answerText(explore.entry.response), miss.embedder);
    budget.learn(explore.entry.id, explore.score, correct, explore.sampled);
    deps.metrics.budgetLabel(correct, budget.stats());
  } catch (err) {
    // A label is a bonus: without one the budget only learns more slowly.
    deps.logger.warn({ err: String(err) }, 'could not label an explored answer');
  }
}
