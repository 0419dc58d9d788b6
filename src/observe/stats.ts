/**
 * @module observe/stats: the stats JSON that /stats serves and the dashboard draws (its schema is in the README):
 * the counters, the last hour minute by minute, latency quantiles, the similarity distribution, the most-hit
 * entries, the latest misses and the no-hit warnings. A cluster's stats are its replicas' added up.
 */
import type { Snapshot } from './metrics.js';
import { mergeTimelines, noHitWarnings, quantileMs, type Minute, type TimelineState } from './timeline.js';

/** What one replica reports of itself, to show or to share through the store. */
export interface ReplicaStats {
  /** STATS_SCHEMA of the replica that wrote it: a replica on another version is left out, not misread */
  schema?: number;
  replica: string;
  /** ms since epoch when it was taken */
  at: number;
  snapshot: Snapshot;
  timeline: TimelineState;
}

export const STATS_SCHEMA = 1;

/** Keys whose values are one replica's state, not counts: the cluster shows the reporting replica's. */
const NOT_ADDED = new Set(['le', 'measuredErrorRate', 'strictness']);

/**
 * `b`'s numbers added into a copy of `a`: counters, per-bucket arrays and maps of counts alike. `a` (the answering
 * replica's) gives the shape: what `b` has that `a` does not is left out, except the entries of a map of counts.
 */
function added<T>(a: T, b: T, map = false): T {
  if (typeof a === 'number') return (typeof b === 'number' && Number.isFinite(b) ? a + b : a) as T;
  if (Array.isArray(a)) return (Array.isArray(b) ? a.map((x, i) => added(x, b[i] ?? 0)) : a) as T;
  if (a && typeof a === 'object') {
    if (!b || typeof b !== 'object') return a;
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) {
      if (NOT_ADDED.has(k)) continue;
      if (k in out) out[k] = added(out[k], v, COUNT_MAPS.has(k));
      else if (map && typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    }
    return out as T;
  }
  return a;
}

/** Snapshot members that are maps of counts by a name (a reason, a decision): a peer may have names this one has not. */
const COUNT_MAPS = new Set(['notStored', 'refusals', 'decisions']);

const quantiles = (minutes: Minute[], key: 'hitMs' | 'missMs' | 'ownMs') => {
  const counts = minutes.reduce<number[]>((acc, m) => m[key].map((n, i) => n + (acc[i] ?? 0)), []);
  return { p50: quantileMs(counts, 0.5), p99: quantileMs(counts, 0.99), count: counts.reduce((s, n) => s + n, 0) };
};

/**
 * The stats of `replicas` (the first is the one answering), as /stats serves them.
 * @param store the store's entries and bytes (shared by the cluster, so not added up)
 */
export function statsJson(all: ReplicaStats[], opts: { now: number; threshold: number | null; store: { entries: number; bytes?: number } }) {
  // The first is this replica's own; a peer that wrote another schema, or that cannot be merged, is left out.
  const [own, ...peers] = all as [ReplicaStats, ...ReplicaStats[]];
  let snapshot = own.snapshot;
  let timeline = own.timeline;
  let replicas = 1;
  for (const p of peers) {
    if (p.schema !== STATS_SCHEMA) continue;
    try {
      const s = added(snapshot, p.snapshot);
      timeline = mergeTimelines([timeline, p.timeline]);
      snapshot = s;
      replicas++;
    } catch {
      // A malformed peer: its figures are not shown, this replica's and the others' still are.
    }
  }
  // Only the answering replica's hour: a peer whose clock is off brings minutes outside it.
  const hour = timeline.minutes.filter((m) => m.t > opts.now - 3_600_000 && m.t <= opts.now);
  return {
    ...snapshot,
    schema: STATS_SCHEMA,
    generatedAt: opts.now,
    replicas,
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
