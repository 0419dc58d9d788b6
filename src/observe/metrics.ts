/**
 * @module observe/metrics: counters for what the cache decided and why, exposed as Prometheus text and JSON.
 * Plain counters, no library: the set is small and must run on Workers too.
 */

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS' | 'ERROR';
export type FaultStage = 'embed' | 'search' | 'store' | 'lookup';

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
}

export class Metrics {
  private readonly s: Snapshot = {
    requests: { HIT: 0, MISS: 0, BYPASS: 0, ERROR: 0 },
    hits: { exact: 0, semantic: 0 },
    faults: { embed: 0, search: 0, store: 0, lookup: 0 },
    upstreamCalls: 0,
    coalesced: 0,
    stored: 0,
    notStored: {},
    tokensSaved: 0,
    feedbackWrong: 0,
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

  /** a client reported a wrong hit */
  feedback(): void {
    this.s.feedbackWrong++;
  }

  snapshot(): Snapshot {
    return structuredClone(this.s);
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
    metric('reprise_requests_total', 'Cached-endpoint requests by X-Cache-Status.', Object.entries(s.requests).map(([k, v]) => [{ status: k }, v]));
    metric('reprise_hits_total', 'Cache hits by match type.', Object.entries(s.hits).map(([k, v]) => [{ match: k }, v]));
    metric('reprise_cache_faults_total', 'Cache faults that failed open, by stage.', Object.entries(s.faults).map(([k, v]) => [{ stage: k }, v]));
    metric('reprise_upstream_requests_total', 'Requests sent upstream.', [[{}, s.upstreamCalls]]);
    metric('reprise_coalesced_total', 'Requests that shared another request\'s upstream call.', [[{}, s.coalesced]]);
    metric('reprise_stored_total', 'Answers stored.', [[{}, s.stored]]);
    metric('reprise_not_stored_total', 'Answers not stored, by reason.', Object.entries(s.notStored).map(([k, v]) => [{ reason: k }, v]));
    metric('reprise_feedback_wrong_total', 'Hits reported wrong by clients (the entry was evicted).', [[{}, s.feedbackWrong]]);
    metric('reprise_tokens_saved_total', 'Upstream tokens not spent thanks to hits.', [[{}, s.tokensSaved]]);
    return `${lines.join('\n')}\n`;
  }
}
