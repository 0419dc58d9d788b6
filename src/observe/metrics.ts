/**
 * @module observe/metrics: counters for what the cache decided and why, exposed as Prometheus text and JSON.
 * Plain counters, no library: the set is small and must run on Workers too.
 */

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
  tokensSaved: number;
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

export class Metrics {
  /** where the upstream slot gauges are read from (cache/upstream-slots.ts), once the handler has its slots */
  slots: { readonly underWay: number; readonly queued: number } | undefined;
  /** where the flight gauges are read from (cache/single-flight.ts) */
  flights: { readonly size: number; readonly joinersWaiting: number } | undefined;
  private readonly s: Omit<Snapshot, 'upstreamSlots' | 'flights'> = {
    requests: { HIT: 0, MISS: 0, BYPASS: 0, ERROR: 0 },
    hits: { exact: 0, semantic: 0 },
    faults: { embed: 0, search: 0, store: 0, lookup: 0, key: 0 },
    upstreamCalls: 0,
    coalesced: 0,
    stored: 0,
    notStored: {},
    tokensSaved: 0,
    feedbackWrong: 0,
    embedBusy: 0,
    backfill: { queued: 0, done: 0, skipped: 0, dropped: 0, failed: 0, backlog: 0 },
    judge: { same: 0, different: 0, error: 0 },
    budget: { decisions: {}, labels: { right: 0, wrong: 0 }, measuredErrorRate: null, strictness: 1 },
  };

  request(status: CacheStatus): void {
    this.s.requests[status]++;
  }
  hit(match: 'exact' | 'semantic', tokens: number): void {
    this.s.hits[match]++;
    this.s.tokensSaved += tokens;
  }
  fault(stage: FaultStage): void {
    this.s.faults[stage]++;
  }
  upstream(): void {
    this.s.upstreamCalls++;
  }
  coalesce(): void {
    this.s.coalesced++;
  }
  stored(): void {
    this.s.stored++;
  }
  notStored(reason: string): void {
    this.s.notStored[reason] = (this.s.notStored[reason] ?? 0) + 1;
  }

  /** a lookup went upstream without its semantic step: the embedder was too busy */
  embedBusyOnce(): void {
    this.s.embedBusy++;
  }
  /** what happened to an entry waiting for its vector; `backlog` is how many wait now */
  backfill(event: 'queued' | 'done' | 'skipped' | 'dropped' | 'failed', backlog: number): void {
    this.s.backfill[event]++;
    this.s.backfill.backlog = backlog;
  }

  /** a client reported a wrong hit */
  feedback(): void {
    this.s.feedbackWrong++;
  }

  /** the LLM judge gave its verdict on a borderline candidate */
  judged(verdict: 'same' | 'different' | 'error'): void {
    this.s.judge[verdict]++;
  }
  /** the error budget served a candidate, or explored upstream for `reason` */
  budgetDecision(decision: string): void {
    const d = this.s.budget.decisions;
    d[decision] = (d[decision] ?? 0) + 1;
  }
  /** an explored answer was compared with the candidate's; `state` is the budget's view after learning it */
  budgetLabel(correct: boolean, state: { measuredErrorRate?: number; strictness: number }): void {
    this.s.budget.labels[correct ? 'right' : 'wrong']++;
    this.budgetState(state);
  }
  budgetState(state: { measuredErrorRate?: number; strictness: number }): void {
    this.s.budget.measuredErrorRate = state.measuredErrorRate ?? null;
    this.s.budget.strictness = state.strictness;
  }

  snapshot(): Snapshot {
    return {
      ...structuredClone(this.s),
      upstreamSlots: { underWay: this.slots?.underWay ?? 0, queued: this.slots?.queued ?? 0 },
      flights: { open: this.flights?.size ?? 0, joinersWaiting: this.flights?.joinersWaiting ?? 0 },
    };
  }

  /** Prometheus text exposition format. */
  prometheus(): string {
    const s = this.s;
    const lines: string[] = [];
    const metric = (name: string, help: string, rows: Array<[Record<string, string>, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [labels, v] of rows) {
        const l = Object.entries(labels).map(([k, x]) => `${k}="${x}"`).join(',');
        lines.push(`${name}${l ? `{${l}}` : ''} ${v}`);
      }
    };
    const gauge = (name: string, help: string, v: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${v}`);
    metric('reprise_requests_total', 'Cached-endpoint requests by X-Cache-Status.', Object.entries(s.requests).map(([k, v]) => [{ status: k }, v]));
    metric('reprise_hits_total', 'Cache hits by match type.', Object.entries(s.hits).map(([k, v]) => [{ match: k }, v]));
    metric('reprise_cache_faults_total', 'Cache faults that failed open, by stage.', Object.entries(s.faults).map(([k, v]) => [{ stage: k }, v]));
    metric('reprise_upstream_requests_total', 'Requests sent upstream.', [[{}, s.upstreamCalls]]);
    metric('reprise_coalesced_total', 'Requests that shared another request\'s upstream call.', [[{}, s.coalesced]]);
    metric('reprise_stored_total', 'Answers stored.', [[{}, s.stored]]);
    metric('reprise_not_stored_total', 'Answers not stored, by reason.', Object.entries(s.notStored).map(([k, v]) => [{ reason: k }, v]));
    metric('reprise_feedback_wrong_total', 'Hits reported wrong by clients (the entry was evicted).', [[{}, s.feedbackWrong]]);
    metric('reprise_judge_total', 'Borderline candidates the LLM judge decided, by verdict (error counts as a miss).', Object.entries(s.judge).map(([k, v]) => [{ verdict: k }, v]));
    const b = s.budget;
    metric('reprise_budget_decisions_total', 'Error budget: candidates served, or explored upstream and why.', Object.entries(b.decisions).map(([k, v]) => [{ decision: k }, v]));
    metric('reprise_budget_labels_total', 'Error budget: explored answers compared with the candidate\'s.', Object.entries(b.labels).map(([k, v]) => [{ result: k }, v]));
    if (b.measuredErrorRate !== null) gauge('reprise_budget_measured_error_rate', 'Error budget: wrong share of sampled would-be hits.', b.measuredErrorRate);
    gauge('reprise_budget_strictness', 'Error budget: factor the error bound is scaled by after measured errors.', b.strictness);
    gauge('reprise_upstream_slots_in_use', 'Upstream calls under way, of --upstream-concurrency (0 when unlimited).', this.slots?.underWay ?? 0);
    gauge('reprise_upstream_queue_length', 'Requests waiting for an upstream slot (--upstream-queue).', this.slots?.queued ?? 0);
    gauge('reprise_flights_open', 'Single flights open: one lookup and upstream call shared by identical requests.', this.flights?.size ?? 0);
    gauge('reprise_flight_joiners_waiting', 'Requests waiting on another request\'s flight for its decision.', this.flights?.joinersWaiting ?? 0);
    metric('reprise_embed_busy_total', 'Lookups that skipped the semantic step: no embedding could start within --embed-wait.', [[{}, s.embedBusy]]);
    const { backlog, ...events } = s.backfill;
    metric('reprise_backfill_total', 'Entries stored without their vector, by what became of them (embedded later when idle, or not).', Object.entries(events).map(([k, v]) => [{ event: k }, v]));
    gauge('reprise_backfill_backlog', 'Entries waiting for their vector.', backlog);
    metric('reprise_tokens_saved_total', 'Upstream tokens not spent thanks to hits.', [[{}, s.tokensSaved]]);
    return `${lines.join('\n')}\n`;
  }
}
