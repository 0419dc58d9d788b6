/**
 * @module worker/stats-object: the Durable Object that keeps the Worker's stats. Every isolate counts its own
 * requests (observe/metrics.ts) and shares them here now and then (store/kv-vectorize.ts shareStats); /stats and
 * the dashboard add up what every isolate shared within its time to live, as they add up replicas on Node.
 * One object for the whole Worker (named "stats"): a few writes a minute per isolate.
 */
import { STATS_SCHEMA, type ReplicaStats } from '../observe/stats.js';
import type { DurableObjectState } from './bindings.js';

/** Isolates kept at most; past it the one that shared longest ago goes. */
const MAX_REPLICAS = 500;
/** Largest share accepted, in bytes: one isolate's hour is tens of KiB; a Durable Object value may be 128 KiB. */
const MAX_SHARE_BYTES = 120 * 1024;
const KEY_PREFIX = 'r:';

interface Kept {
  stats: ReplicaStats;
  /** ms since epoch when it stops counting */
  until: number;
}

export class StatsObject {
  private kept: Map<string, Kept> | undefined;

  constructor(
    private readonly state: DurableObjectState,
    _env: unknown,
  ) {}

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.method === 'POST' && path === '/share') return this.share(request);
    if (request.method === 'GET' && path === '/peers') return Response.json(await this.live());
    return new Response('not found', { status: 404 });
  }

  private async share(request: Request): Promise<Response> {
    const text = await request.text();
    if (text.length > MAX_SHARE_BYTES) return new Response('too large', { status: 413 });
    let body: { stats?: ReplicaStats; ttlSeconds?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return new Response('bad json', { status: 400 });
    }
    const { stats, ttlSeconds } = body;
    if (!stats || stats.schema !== STATS_SCHEMA || typeof stats.replica !== 'string' || typeof ttlSeconds !== 'number' || !(ttlSeconds > 0)) {
      return new Response('bad share', { status: 400 });
    }
    const kept = await this.load();
    const item: Kept = { stats, until: Date.now() + ttlSeconds * 1000 };
    kept.set(stats.replica, item);
    await this.state.storage.put(KEY_PREFIX + stats.replica, item);
    if (kept.size > MAX_REPLICAS) {
      const oldest = [...kept].sort((a, b) => a[1].stats.at - b[1].stats.at).slice(0, kept.size - MAX_REPLICAS);
      for (const [replica] of oldest) kept.delete(replica);
      await this.state.storage.delete(oldest.map(([replica]) => KEY_PREFIX + replica));
    }
    return new Response(null, { status: 204 });
  }

  /** What every isolate shared that still counts; the rest is dropped. */
  private async live(): Promise<ReplicaStats[]> {
    const kept = await this.load();
    const now = Date.now();
    const gone = [...kept].filter(([, k]) => k.until <= now).map(([replica]) => replica);
    for (const replica of gone) kept.delete(replica);
    if (gone.length > 0) await this.state.storage.delete(gone.map((r) => KEY_PREFIX + r));
    return [...kept.values()].map((k) => k.stats);
  }

  /** The shares, read from storage once per object lifetime (an object is evicted when idle). */
  private async load(): Promise<Map<string, Kept>> {
    if (!this.kept) {
      const stored = await this.state.storage.list<Kept>({ prefix: KEY_PREFIX });
      this.kept = new Map([...stored].map(([key, k]) => [key.slice(KEY_PREFIX.length), k]));
    }
    return this.kept;
  }
}
