/**
 * @module observe/metrics: what the cache decided and why, how long it took and what it saved, exposed as Prometheus
 * text (observe/registry.ts, Web-standard: this runs on Workers too) and as JSON for /stats.
 */
import { prices, type PriceTable, type Saved } from './prices.js';
import { Registry, type Counter, type Histogram } from './registry.js';
import { Timeline } from './timeline.js';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS' | 'ERROR';
export type FaultStage = 'embed' | 'search' | 'store' | 'lookup' | 'key';

export interface Snapshot {
  requests: Record<CacheStatus, number>;
  hits: { exact: number; semantic: number };
  faults: Record<FaultStage, number>;
  upstreamCalls: number;
  coalesced: number;
  stored: number;
  notStored: Record<string, number>;
  /** upstream tokens hits did not spend: every kind, as before (input + output) */
  tokensSaved: number;
  /** the same, by kind; `upstreamCached` are input tokens the upstream had served from its own prompt cache, not counted as saved */
  tokens: { input: number; output: number; upstreamCached: number };
  /** dollars hits did not spend, by the price table; models it does not know count tokens only */
  moneySavedUsd: number;
  /** answers written to the store (misses stored), apart from hits: the same count as `stored`, by the name the dashboard uses */
  writes: number;
  /** semantic candidates refused, by reason */
  refusals: Record<string, number>;
  /** the best candidate's similarity on semantic lookups: counts per bucket (upper bounds `le`), served and refused */
  similarity: { le: number[]; served: number[]; refused: number[] };
  feedbackWrong: number;
  /** lookups that skipped the semantic step because no embedding could start within --embed-wait */
  embedBusy: number;
  /** entries stored exact-only, embedded later when the embedder is idle */
  backfill: { queued: number; done: number; skipped: number; dropped: number; failed: number; backlog: number };
  /** --upstream-concurrency: upstream calls under way, and requests waiting for one (gauges) */
  upstreamSlots: { underWay: number; queued: number };
  /** single flights open, and joiners waiting on them for their leader's decision (gauges) */
  flights: { open: number; joinersWaiting: number };
  /** --judge-model: borderline candidates the LLM judge was asked about, by verdict */
  judge: Record<'same' | 'different' | 'error', number>;
  /** --max-error-rate: what the budget decided for candidates that passed the static checks */
  budget: {
    /** served, or explored upstream and why (uncertain, entry-wrong-closer, sampled) */
    decisions: Record<string, number>;
    /** labels from comparing explored answers with the candidate's */
    labels: { right: number; wrong: number };
    /** wrong/checked of sampled would-be hits; null until one was checked */
    measuredErrorRate: number | null;
    strictness: number;
  };
}

/** Where a request went: its API and its model (capped, so clients cannot grow the series without bound). */
export interface RequestLabels {
  endpoint: string;
  model: string;
}

export type Outcome = 'hit' | 'miss' | 'bypass' | 'error';

/** Most distinct model names given a series of their own; the rest count as "other". */
const MAX_MODELS = 64;
/** Seconds: from a fraction of a millisecond (an exact hit) to the minutes a long answer can take. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const SIMILARITY_BUCKETS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 1];
const OUTCOME: Record<CacheStatus, Outcome> = { HIT: 'hit', MISS: 'miss', BYPASS: 'bypass', ERROR: 'error' };

export class Metrics {
  /** where the upstream slot gauges are read from (cache/upstream-slots.ts), once the handler has its slots */
  slots: { readonly underWay: number; readonly queued: number } | undefined;
  /** where the flight gauges are read from (cache/single-flight.ts) */
  flights: { readonly size: number; readonly joinersWaiting: number } | undefined;
  /** where the store gauges are read from */
  store: { size(): number; bytes?(): number } | undefined;
  private readonly s: Omit<Snapshot, 'upstreamSlots' | 'flights' | 'writes'> = {
    requests: { HIT: 0, MISS: 0, BYPASS: 0, ERROR: 0 },
    hits: { exact: 0, semantic: 0 },
    faults: { embed: 0, search: 0, store: 0, lookup: 0, key: 0 },
    upstreamCalls: 0,
    coalesced: 0,
    stored: 0,
    notStored: {},
    tokensSaved: 0,
    tokens: { input: 0, output: 0, upstreamCached: 0 },
    moneySavedUsd: 0,
    refusals: {},
    similarity: { le: SIMILARITY_BUCKETS, served: [], refused: [] },
    feedbackWrong: 0,
    embedBusy: 0,
    backfill: { queued: 0, done: 0, skipped: 0, dropped: 0, failed: 0, backlog: 0 },
    judge: { same: 0, different: 0, error: 0 },
    budget: { decisions: {}, labels: { right: 0, wrong: 0 }, measuredErrorRate: null, strictness: 1 },
  };
  private readonly models = new Set<string>();
  private readonly r = new Registry();
  private readonly c: Record<
    | 'requests' | 'writes' | 'faults' | 'upstream' | 'coalesced' | 'notStored' | 'feedback' | 'judge' | 'budgetDecisions' | 'budgetLabels' | 'budgetShared' | 'budgetSharedServed' | 'budgetReports'
    | 'embedBusy' | 'backfill' | 'tokens' | 'cachedTokens' | 'money' | 'refusals',
    Counter
  >;
  private readonly h: Record<'duration' | 'upstreamTime' | 'overhead' | 'embedTime' | 'embedBatch' | 'similarity', Histogram>;

  /** the last hour, minute by minute, for the dashboard */
  readonly timeline: Timeline;
  private readonly priceTable: PriceTable;

  constructor(opts: { prices?: PriceTable; now?: () => number; prompts?: boolean } = {}) {
    this.priceTable = opts.prices ?? prices();
    this.timeline = new Timeline(opts.now ?? Date.now, opts.prompts ?? false);
    const r = this.r;
    this.c = {
      requests: r.counter('reprise_requests_total', 'Requests to cached endpoints by endpoint, model, X-Cache-Status and, for hits, match (exact, semantic; none otherwise).', ['endpoint', 'model', 'status', 'match']),
      writes: r.counter('reprise_writes_total', 'Answers written to the store (a miss stored): writes, counted apart from hits.', ['endpoint', 'model']),
      faults: r.counter('reprise_cache_faults_total', 'Cache faults that failed open, by stage.', ['stage']),
      upstream: r.counter('reprise_upstream_requests_total', 'Requests sent upstream.'),
      coalesced: r.counter('reprise_coalesced_total', "Requests that shared another request's upstream call."),
      notStored: r.counter('reprise_not_stored_total', 'Answers not stored, by reason.', ['reason']),
      feedback: r.counter('reprise_feedback_wrong_total', 'Hits reported wrong by clients (the entry was evicted).'),
      judge: r.counter('reprise_judge_total', 'Borderline candidates the LLM judge decided, by verdict (error counts as a miss).', ['verdict']),
      budgetDecisions: r.counter('reprise_budget_decisions_total', 'Error budget: candidates served, or explored upstream and why.', ['decision']),
      budgetLabels: r.counter('reprise_budget_labels_total', "Error budget: explored answers compared with the candidate's.", ['result']),
      budgetShared: r.counter('reprise_budget_shared_labels_total', 'Error budget: labels shared with the other replicas (sent), heard from them (received), or not sent yet for a store fault (failed; kept and sent again).', ['event']),
      budgetReports: r.counter('reprise_budget_reports_total', "Error budget: wrong-hit reports placed at the similarity the hit was served at (by this replica or, shared, another), or not placed (served before this process started, or not yet shared).", ['result']),
      budgetSharedServed: r.counter('reprise_budget_shared_served_total', 'Error budget: counts of served hits shared with the other replicas beside the labels (sent, received, failed), against which reports are weighed.', ['event']),
      embedBusy: r.counter('reprise_embed_busy_total', 'Lookups that skipped the semantic step: no embedding could start within --embed-wait.'),
      backfill: r.counter('reprise_backfill_total', 'Entries stored without their vector, by what became of them (embedded later when idle, or not).', ['event']),
      tokens: r.counter('reprise_tokens_saved_total', "Upstream tokens hits did not spend, by endpoint, model and kind (input, output); input the upstream served from its own prompt cache is not counted here.", ['endpoint', 'model', 'kind']),
      cachedTokens: r.counter('reprise_upstream_cached_tokens_total', "Input tokens of served answers that the upstream had served from its own prompt cache: reported apart, never counted as Reprise's savings.", ['endpoint', 'model']),
      money: r.counter('reprise_money_saved_usd_total', 'Dollars hits did not spend, by the price table (--prices); models it does not know count tokens only.', ['endpoint', 'model']),
      refusals: r.counter('reprise_refusals_total', 'Semantic candidates refused, by reason: below-threshold, guard-<name>, verifier, budget-<why>, judge-<verdict>.', ['reason']),
    };
    this.h = {
      duration: r.histogram('reprise_request_duration_seconds', "From a request's arrival to its answer's first byte, by endpoint and outcome (hit, miss, bypass, error).", ['endpoint', 'outcome'], LATENCY_BUCKETS),
      upstreamTime: r.histogram('reprise_upstream_duration_seconds', "From the upstream call to the upstream's response head, by endpoint: the provider's time, apart from Reprise's.", ['endpoint'], LATENCY_BUCKETS),
      overhead: r.histogram('reprise_overhead_seconds', "Reprise's own time in a request, by endpoint and outcome: all of a hit; what came before the upstream call on a miss.", ['endpoint', 'outcome'], LATENCY_BUCKETS),
      embedTime: r.histogram('reprise_embed_duration_seconds', "What a lookup's query embedding took, waiting for the model included.", [], LATENCY_BUCKETS),
      embedBatch: r.histogram('reprise_embed_batch_size', 'Texts in the model call that embedded a query.', [], [1, 2, 4, 8, 16, 32, 64]),
      similarity: r.histogram('reprise_similarity', "The best candidate's cosine similarity on each semantic lookup that found one, by decision (served, refused).", ['decision'], SIMILARITY_BUCKETS),
    };
    const gauge = (name: string, help: string, read: () => number) => r.gauge(name, help, [], read);
    gauge('reprise_budget_strictness', 'Error budget: factor the error bound is scaled by after measured errors.', () => this.s.budget.strictness);
    gauge('reprise_budget_measured_error_rate', 'Error budget: wrong share of sampled would-be hits (NaN until one was checked).', () => this.s.budget.measuredErrorRate ?? NaN);
    gauge('reprise_upstream_slots_in_use', 'Upstream calls under way, of --upstream-concurrency (0 when unlimited).', () => this.slots?.underWay ?? 0);
    gauge('reprise_upstream_queue_length', 'Requests waiting for an upstream slot (--upstream-queue).', () => this.slots?.queued ?? 0);
    gauge('reprise_flights_open', 'Single flights open: one lookup and upstream call shared by identical requests.', () => this.flights?.size ?? 0);
    gauge('reprise_flight_joiners_waiting', "Requests waiting on another request's flight for its decision.", () => this.flights?.joinersWaiting ?? 0);
    gauge('reprise_backfill_backlog', 'Entries waiting for their vector.', () => this.s.backfill.backlog);
    gauge('reprise_store_entries', 'Entries in the store (this replica’s view of it).', () => this.store?.size() ?? 0);
    gauge('reprise_store_bytes', 'Bytes the store holds, where it can tell.', () => this.store?.bytes?.() ?? 0);
    for (const stage of Object.keys(this.s.faults)) this.c.faults.touch({ stage });
  }

  /** A model's label: its name, until MAX_MODELS names have been seen. */
  private model(name: string): string {
    if (this.models.has(name)) return name;
    if (this.models.size >= MAX_MODELS) return 'other';
    this.models.add(name);
    return name;
  }

  request(status: CacheStatus, at: RequestLabels, match: 'exact' | 'semantic' | 'none' = 'none'): void {
    this.s.requests[status]++;
    const model = this.model(at.model);
    this.c.requests.inc({ endpoint: at.endpoint, model, status, match });
    this.timeline.request(status, at.endpoint, model, match === 'none' ? undefined : match);
  }
  /** a request that went upstream for its answer, and what it asked */
  missed(at: RequestLabels, text: string): void {
    this.timeline.missed(at.endpoint, this.model(at.model), text);
  }
  /** a hit, and what it saved: the answer's usage, by kind */
  hit(match: 'exact' | 'semantic', at: RequestLabels, usage: Saved, entry?: { id: string; text: string }): void {
    this.s.hits[match]++;
    const model = this.model(at.model);
    this.s.tokensSaved += usage.input + usage.output;
    this.s.tokens.input += usage.input;
    this.s.tokens.output += usage.output;
    this.s.tokens.upstreamCached += usage.cachedInput;
    this.c.tokens.inc({ endpoint: at.endpoint, model, kind: 'input' }, usage.input);
    this.c.tokens.inc({ endpoint: at.endpoint, model, kind: 'output' }, usage.output);
    if (usage.cachedInput > 0) this.c.cachedTokens.inc({ endpoint: at.endpoint, model }, usage.cachedInput);
    const usd = this.priceTable.cost(at.model, usage);
    if (usd !== undefined) {
      this.s.moneySavedUsd += usd;
      this.c.money.inc({ endpoint: at.endpoint, model }, usd);
    }
    if (entry) this.timeline.hit({ ...entry, endpoint: at.endpoint, model }, usage.input + usage.output, usd);
  }
  /** how long a request took to its first byte, and how much of it was Reprise's own (the rest is upstream's) */
  timed(status: CacheStatus, endpoint: string, times: { totalMs: number; ownMs: number; upstreamMs?: number }): void {
    const outcome = OUTCOME[status];
    this.timeline.timed(status, times.totalMs, times.ownMs);
    this.h.duration.observe({ endpoint, outcome }, times.totalMs / 1000);
    this.h.overhead.observe({ endpoint, outcome }, times.ownMs / 1000);
    if (times.upstreamMs !== undefined) this.h.upstreamTime.observe({ endpoint }, times.upstreamMs / 1000);
  }
  /** a query embedding: its time, and how many texts shared its model call (undefined: remembered, no call) */
  embedded(ms: number, batch: number | undefined): void {
    this.h.embedTime.observe(undefined, ms / 1000);
    if (batch !== undefined) this.h.embedBatch.observe(undefined, batch);
  }
  /** a semantic lookup that found candidates: the best one's similarity, whether one was served, and if not why */
  lookedUp(best: number, served: boolean, refusal?: string): void {
    this.h.similarity.observe({ decision: served ? 'served' : 'refused' }, best);
    if (!served && refusal) {
      this.s.refusals[refusal] = (this.s.refusals[refusal] ?? 0) + 1;
      this.c.refusals.inc({ reason: refusal });
    }
  }
  fault(stage: FaultStage): void {
    this.s.faults[stage]++;
    this.c.faults.inc({ stage });
  }
  upstream(): void {
    this.s.upstreamCalls++;
    this.c.upstream.inc();
  }
  coalesce(): void {
    this.s.coalesced++;
    this.c.coalesced.inc();
  }
  /** an answer written to the store */
  stored(at?: RequestLabels): void {
    this.s.stored++;
    this.c.writes.inc(at && { endpoint: at.endpoint, model: this.model(at.model) });
  }
  notStored(reason: string): void {
    this.s.notStored[reason] = (this.s.notStored[reason] ?? 0) + 1;
    this.c.notStored.inc({ reason });
  }

  /** a lookup went upstream without its semantic step: the embedder was too busy */
  embedBusyOnce(): void {
    this.s.embedBusy++;
    this.c.embedBusy.inc();
  }
  /** what happened to an entry waiting for its vector; `backlog` is how many wait now */
  backfill(event: 'queued' | 'done' | 'skipped' | 'dropped' | 'failed', backlog: number): void {
    this.s.backfill[event]++;
    this.s.backfill.backlog = backlog;
    this.c.backfill.inc({ event });
  }

  /** a client reported a wrong hit */
  feedback(): void {
    this.s.feedbackWrong++;
    this.c.feedback.inc();
  }

  /** the LLM judge gave its verdict on a borderline candidate */
  judged(verdict: 'same' | 'different' | 'error'): void {
    this.s.judge[verdict]++;
    this.c.judge.inc({ verdict });
  }
  /** the error budget served a candidate, or explored upstream for `reason` */
  budgetDecision(decision: string): void {
    const d = this.s.budget.decisions;
    d[decision] = (d[decision] ?? 0) + 1;
    this.c.budgetDecisions.inc({ decision });
  }
  /** an explored answer was compared with the candidate's; `state` is the budget's view after learning it */
  budgetLabel(correct: boolean, state: { measuredErrorRate?: number; strictness: number }): void {
    this.s.budget.labels[correct ? 'right' : 'wrong']++;
    this.c.budgetLabels.inc({ result: correct ? 'right' : 'wrong' });
    this.budgetState(state);
  }
  /** error-budget labels sent to the other replicas, heard from them, or not sent for a fault */
  budgetShared(event: 'sent' | 'received' | 'failed', labels: number, served = 0): void {
    if (labels > 0) this.c.budgetShared.inc({ event }, labels);
    if (served > 0) this.c.budgetSharedServed.inc({ event }, served);
  }
  /** a client's report of a wrong hit reached the error budget: placed as a wrong label, or not (unknown hit) */
  budgetReport(placed: boolean, state: { measuredErrorRate?: number; strictness: number }): void {
    this.c.budgetReports.inc({ result: placed ? 'placed' : 'unplaced' });
    this.budgetState(state);
  }
  budgetState(state: { measuredErrorRate?: number; strictness: number }): void {
    this.s.budget.measuredErrorRate = state.measuredErrorRate ?? null;
    this.s.budget.strictness = state.strictness;
  }

  snapshot(): Snapshot {
    const perBucket = (decision: string) => {
      const { buckets, count } = this.h.similarity.summary({ decision });
      const cumulative = [...buckets.map(([, n]) => n), count];
      return cumulative.map((n, i) => n - (i > 0 ? cumulative[i - 1]! : 0));
    };
    return {
      ...structuredClone(this.s),
      writes: this.s.stored,
      similarity: { le: [...SIMILARITY_BUCKETS], served: perBucket('served'), refused: perBucket('refused') },
      upstreamSlots: { underWay: this.slots?.underWay ?? 0, queued: this.slots?.queued ?? 0 },
      flights: { open: this.flights?.size ?? 0, joinersWaiting: this.flights?.joinersWaiting ?? 0 },
    };
  }

  /** Prometheus text exposition format. */
  prometheus(): string {
    return this.r.expose();
  }
}
