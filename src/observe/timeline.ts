/**
 * @module observe/timeline: the last hour of traffic, minute by minute, for the dashboard and the stats JSON: requests
 * by outcome, latency of hits and misses (as histogram buckets, so replicas' minutes add up), tokens and dollars
 * saved, per endpoint and model the requests and hits (for the no-hits warning), the most-hit entries and the
 * latest misses. Everything in it merges by adding, so a cluster's view is the sum of its replicas' (observe/stats.ts).
 */

/** Upper bounds of the latency buckets, in ms; one more bucket holds the rest. */
export const LATENCY_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

export interface Minute {
  /** ms since epoch at the minute's start */
  t: number;
  requests: number;
  exact: number;
  semantic: number;
  misses: number;
  bypass: number;
  errors: number;
  /** latency bucket counts (LATENCY_MS, then the rest) of hits and of misses, to the first byte */
  hitMs: number[];
  missMs: number[];
  /** Reprise's own time on misses (what came before the upstream call), in the same buckets */
  ownMs: number[];
  tokensSaved: number;
  moneySavedUsd: number;
  /** by "endpoint model": requests and hits this minute */
  routes: Record<string, { requests: number; hits: number }>;
}

export interface TopEntry {
  id: string;
  endpoint: string;
  model: string;
  hits: number;
  /** the prompt, only with --dashboard-prompts */
  text?: string;
}

export interface RecentMiss {
  at: number;
  endpoint: string;
  model: string;
  /** the prompt, only with --dashboard-prompts */
  text?: string;
}

/** What one replica holds: the minutes of the last hour, its most-hit entries and its latest misses. */
export interface TimelineState {
  minutes: Minute[];
  top: TopEntry[];
  recentMisses: RecentMiss[];
}

const MINUTE = 60_000;
const HOUR_MINUTES = 60;
/** entries whose hits are tracked; past it the least-hit make room */
const TRACKED = 2_000;
const TOP = 20;
const RECENT = 20;

const emptyMinute = (t: number): Minute => ({
  t,
  requests: 0,
  exact: 0,
  semantic: 0,
  misses: 0,
  bypass: 0,
  errors: 0,
  hitMs: LATENCY_MS.map(() => 0).concat(0),
  missMs: LATENCY_MS.map(() => 0).concat(0),
  ownMs: LATENCY_MS.map(() => 0).concat(0),
  tokensSaved: 0,
  moneySavedUsd: 0,
  routes: {},
});

function bucketOf(ms: number): number {
  const i = LATENCY_MS.findIndex((b) => ms <= b);
  return i < 0 ? LATENCY_MS.length : i;
}

export class Timeline {
  private readonly minutes: Minute[] = [];
  private readonly hitsById = new Map<string, TopEntry>();
  private readonly misses: RecentMiss[] = [];

  /**
   * @param now ms since epoch
   * @param withText keep prompts' text for the top entries and recent misses (--dashboard-prompts)
   */
  constructor(
    private readonly now: () => number,
    private readonly withText = false,
  ) {}

  private current(): Minute {
    const t = Math.floor(this.now() / MINUTE) * MINUTE;
    const last = this.minutes.at(-1);
    if (last && last.t === t) return last;
    const m = emptyMinute(t);
    this.minutes.push(m);
    while (this.minutes.length > 0 && this.minutes[0]!.t <= t - HOUR_MINUTES * MINUTE) this.minutes.shift();
    return m;
  }

  /** a request to a cached endpoint, as the client was told */
  request(status: 'HIT' | 'MISS' | 'BYPASS' | 'ERROR', endpoint: string, model: string, match?: 'exact' | 'semantic'): void {
    const m = this.current();
    m.requests++;
    if (status === 'HIT') m[match === 'semantic' ? 'semantic' : 'exact']++;
    else if (status === 'MISS') m.misses++;
    else if (status === 'BYPASS') m.bypass++;
    else m.errors++;
    const route = (m.routes[`${endpoint} ${model}`] ??= { requests: 0, hits: 0 });
    route.requests++;
    if (status === 'HIT') route.hits++;
  }

  /** a request's time to its first byte, and how much of it was Reprise's own */
  timed(status: 'HIT' | 'MISS' | 'BYPASS' | 'ERROR', ms: number, ownMs: number): void {
    const m = this.current();
    if (status === 'HIT') m.hitMs[bucketOf(ms)]!++;
    if (status !== 'MISS') return;
    m.missMs[bucketOf(ms)]!++;
    m.ownMs[bucketOf(ownMs)]!++;
  }

  /** what a hit saved, and which entry served it */
  hit(entry: { id: string; endpoint: string; model: string; text: string }, tokens: number, usd: number | undefined): void {
    const m = this.current();
    m.tokensSaved += tokens;
    m.moneySavedUsd += usd ?? 0;
    let top = this.hitsById.get(entry.id);
    if (!top) {
      if (this.hitsById.size >= TRACKED) this.forgetLeastHit();
      top = { id: entry.id, endpoint: entry.endpoint, model: entry.model, hits: 0, ...(this.withText && { text: entry.text.slice(0, 500) }) };
      this.hitsById.set(entry.id, top);
    }
    top.hits++;
  }

  /** a request that went upstream for its answer */
  missed(endpoint: string, model: string, text: string): void {
    this.misses.unshift({ at: this.now(), endpoint, model, ...(this.withText && { text: text.slice(0, 500) }) });
    if (this.misses.length > RECENT) this.misses.length = RECENT;
  }

  private forgetLeastHit(): void {
    let least: TopEntry | undefined;
    for (const e of this.hitsById.values()) if (!least || e.hits < least.hits) least = e;
    if (least) this.hitsById.delete(least.id);
  }

  /** this replica's state, to show or to share with the cluster */
  state(): TimelineState {
    this.current();
    const top = [...this.hitsById.values()].sort((a, b) => b.hits - a.hits).slice(0, TOP);
    return structuredClone({ minutes: this.minutes, top, recentMisses: this.misses });
  }
}

/** Several replicas' states as one: minutes added by their start, top entries by id, misses by time. */
export function mergeTimelines(states: TimelineState[]): TimelineState {
  const byT = new Map<number, Minute>();
  for (const s of states) {
    for (const m of s.minutes) {
      const into = byT.get(m.t) ?? byT.set(m.t, emptyMinute(m.t)).get(m.t)!;
      for (const k of ['requests', 'exact', 'semantic', 'misses', 'bypass', 'errors', 'tokensSaved', 'moneySavedUsd'] as const) into[k] += m[k];
      m.hitMs.forEach((n, i) => (into.hitMs[i] = (into.hitMs[i] ?? 0) + n));
      m.missMs.forEach((n, i) => (into.missMs[i] = (into.missMs[i] ?? 0) + n));
      m.ownMs.forEach((n, i) => (into.ownMs[i] = (into.ownMs[i] ?? 0) + n));
      for (const [route, r] of Object.entries(m.routes)) {
        const to = (into.routes[route] ??= { requests: 0, hits: 0 });
        to.requests += r.requests;
        to.hits += r.hits;
      }
    }
  }
  const top = new Map<string, TopEntry>();
  for (const s of states) {
    for (const e of s.top) {
      const had = top.get(e.id);
      if (had) had.hits += e.hits;
      else top.set(e.id, { ...e });
    }
  }
  return {
    minutes: [...byT.values()].sort((a, b) => a.t - b.t),
    top: [...top.values()].sort((a, b) => b.hits - a.hits).slice(0, TOP),
    recentMisses: states
      .flatMap((s) => s.recentMisses)
      .sort((a, b) => b.at - a.at)
      .slice(0, RECENT),
  };
}

/** The ms under which a share `q` of the counted requests came, from bucket counts (an upper bound: the bucket's). */
export function quantileMs(counts: number[], q: number): number | null {
  const total = counts.reduce((s, n) => s + n, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= q * total) return LATENCY_MS[i] ?? Infinity;
  }
  return null;
}

/**
 * Routes (endpoint and model) with steady traffic and no hit for a while: for each, its requests in the last
 * `windowMinutes`, if at least `minRequests` came in `minMinutes` different minutes and none hit.
 */
export function noHitWarnings(minutes: Minute[], now: number, windowMinutes = 15, minRequests = 20, minMinutes = 5): Array<{ endpoint: string; model: string; requests: number; minutes: number }> {
  const since = now - windowMinutes * MINUTE;
  const routes = new Map<string, { requests: number; hits: number; minutes: number }>();
  for (const m of minutes) {
    if (m.t < since) continue;
    for (const [route, r] of Object.entries(m.routes)) {
      const acc = routes.get(route) ?? routes.set(route, { requests: 0, hits: 0, minutes: 0 }).get(route)!;
      acc.requests += r.requests;
      acc.hits += r.hits;
      if (r.requests > 0) acc.minutes++;
    }
  }
  const out: Array<{ endpoint: string; model: string; requests: number; minutes: number }> = [];
  for (const [route, r] of routes) {
    if (r.hits > 0 || r.requests < minRequests || r.minutes < minMinutes) continue;
    const [endpoint, ...model] = route.split(' ');
    out.push({ endpoint: endpoint!, model: model.join(' '), requests: r.requests, minutes: windowMinutes });
  }
  return out;
}
