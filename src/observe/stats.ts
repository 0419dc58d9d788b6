/**
 * @module observe/stats: the stats JSON that /stats serves and the dashboard draws (its schema is in the README):
 * the counters, the last hour minute by minute, latency quantiles, the similarity distribution, the most-hit
 * entries, the latest misses and the no-hit warnings. A cluster's stats are its replicas' added up.
 */
import type { Snapshot } from './metrics.js';
import { mergeTimelines, noHitWarnings, quantileMs, type Minute, type TimelineState } from './timeline.js';

/** What one replica reports of itself, to show or to share through the store. */
export interface ReplicaStats {
  replica: string;
  /** ms since epoch when it was taken */
  at: number;
  snapshot: Snapshot;
  timeline: TimelineState;
}

export const STATS_SCHEMA = 1;

/** Keys whose values are one replica's state, not counts: the cluster shows the reporting replica's. */
const NOT_ADDED = new Set(['le', 'measuredErrorRate', 'strictness']);

/** `b`'s numbers added into a copy of `a`: counters, per-bucket arrays and maps of counts alike. */
function added<T>(a: T, b: T): T {
  if (typeof a === 'number' && typeof b === 'number') return (a + b) as T;
  if (Array.isArray(a) && Array.isArray(b)) return a.map((x, i) => added(x, b[i] ?? 0)).concat(b.slice(a.length)) as T;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = NOT_ADDED.has(k) || !(k in out) ? (out[k] ?? v) : added(out[k], v);
    return out as T;
  }
  return a ?? b;
}

const quantiles = (minutes: Minute[], key: 'hitMs' | 'missMs' | 'ownMs') => {
  const counts = minutes.reduce<number[]>((acc, m) => m[key].map((n, i) => n + (acc[i] ?? 0)), []);
  return { p50: quantileMs(counts, 0.5), p99: quantileMs(counts, 0.99), count: counts.reduce((s, n) => s + n, 0) };
};

/**
 * The stats of `replicas` (the first is the one answering), as /stats serves them.
 * @param store the store's entries and bytes (shared by the cluster, so not added up)
 */
export function statsJson(replicas: ReplicaStats[], opts: { now: number; threshold: number | null; store: { entries: number; bytes?: number } }) {
  const snapshot = replicas.map((r) => r.snapshot).reduce((a, b) => added(a, b));
  const timeline = mergeTimelines(replicas.map((r) => r.timeline));
  const hour = timeline.minutes;
  return {
    schema: STATS_SCHEMA,
    generatedAt: opts.now,
    replicas: replicas.length,
    ...snapshot,
    entries: opts.store.entries,
    ...(opts.store.bytes !== undefined && { bytes: opts.store.bytes }),
    minutes: hour.map((m) => ({
      t: m.t,
      requests: m.requests,
      exact: m.exact,
      semantic: m.semantic,
      misses: m.misses,
      bypass: m.bypass,
      errors: m.errors,
      hitRate: m.exact + m.semantic + m.misses > 0 ? (m.exact + m.semantic) / (m.exact + m.semantic + m.misses) : null,
      tokensSaved: m.tokensSaved,
      moneySavedUsd: m.moneySavedUsd,
    })),
    latencyMs: { hit: quantiles(hour, 'hitMs'), miss: quantiles(hour, 'missMs'), ownOnMiss: quantiles(hour, 'ownMs') },
    threshold: opts.threshold,
    top: timeline.top,
    recentMisses: timeline.recentMisses,
    warnings: noHitWarnings(hour, opts.now),
  };
}

export type StatsJson = ReturnType<typeof statsJson>;
