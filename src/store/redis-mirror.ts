/**
 * @module store/redis-mirror: what each replica keeps of the Redis store in process: the vectors and a little
 * metadata. Loaded with SCAN at every (re)connect and kept current by following the event stream; it never holds an
 * entry's body, so it only proposes candidates and the store reads them from Redis.
 *
 * On one node it follows the one stream with a blocking XREAD on a connection of its own. On a cluster the stream
 * is split into shards on several masters (store/redis-keys), and an XREAD may only name keys of one slot, so it
 * polls every shard (non-blocking, in parallel) every `pollMs`, at once again while any had more; and when a read of
 * a shard fails (a master lost) it loads the whole index again once they all answer, as events written meanwhile may
 * have been lost with that master.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../observe/logger.js';
import { decodeEvent, unpackVector, type EventEntry } from './redis-codec.js';
import { execOrThrow, scanEntryKeys } from './redis-commands.js';
import type { RedisClient } from './redis-connect.js';
import { keyLayout, type KeyLayout } from './redis-keys.js';
import { ScopedIndex, type ScopedIndexOptions } from './scoped-index.js';
import { entryId, matchesPurge, type PurgeFilter } from './types.js';

export interface RedisMirrorOptions {
  /** the store's command connection (with its command timeout): SCAN and the replay point; on a cluster, the polls too */
  redis: RedisClient;
  /** a second connection, for the blocking XREAD alone (one node); absent on a cluster, which is polled */
  events?: Redis;
  /** prefix of every key */
  prefix: string;
  /** where the event streams are @default one stream, `<prefix>:events` */
  layout?: KeyLayout;
  /** ms between polls of a cluster's event streams @default 50 */
  pollMs?: number;
  index?: ScopedIndexOptions;
  now: () => number;
  logger: Logger;
}

/** A live entry near a query: where to read it, and how near it is. */
export interface NearEntry {
  id: string;
  scope: string;
  textKey: string;
  /** cosine similarity to the query, -1..1 */
  score: number;
}

/** What a replica keeps about each entry besides its vector: enough to expire and purge without a read. */
interface Meta {
  scope: string;
  textKey: string;
  deadline: number;
  tenant: string;
  namespace: string;
  model: string;
}

export class RedisMirror {
  private readonly redis: RedisClient;
  private readonly events: Redis | undefined;
  private readonly prefix: string;
  private readonly layout: KeyLayout;
  private readonly pollMs: number;
  private readonly index: ScopedIndex;
  private readonly meta = new Map<string, Meta>();
  private readonly now: () => number;
  private readonly logger: Logger;
  /** the last event id read, by shard */
  private lastEventIds: string[];
  /** whether the store's connection is up: the pump waits while it is not */
  private connected = false;
  private stopped = false;
  private syncing: Promise<void> | undefined;
  private syncedWaiters: Array<() => void> = [];
  private isSynced = false;
  private pumping = false;

  constructor(opts: RedisMirrorOptions) {
    this.redis = opts.redis;
    this.events = opts.events;
    this.prefix = opts.prefix;
    this.layout = opts.layout ?? keyLayout(opts.prefix);
    this.pollMs = opts.pollMs ?? 50;
    this.lastEventIds = this.layout.eventStreams.map(() => '0-0');
    this.index = new ScopedIndex(opts.index);
    this.now = opts.now;
    this.logger = opts.logger;
  }

  /** Entries known, with or without a vector. */
  get size(): number {
    return this.meta.size;
  }

  /** Resolves once the mirror has been loaded from Redis after the latest (re)connect. */
  synced(): Promise<void> {
    if (this.isSynced) return Promise.resolve();
    return new Promise((resolve) => this.syncedWaiters.push(resolve));
  }

  /** The store's connection is (again) ready: reload from Redis, then follow the stream. */
  onConnected(): void {
    this.connected = true;
    this.syncing ??= this.resync()
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'could not load the vector index from redis'))
      .finally(() => {
        this.syncing = undefined;
        // On a cluster the poller also tries a failed load again (no reconnect event may come to ask for it).
        if (!this.events && !this.stopped) void this.pump();
      });
  }

  /** The connection is lost: events may be missed from now on, so the mirror is stale until the next resync. */
  onDisconnected(): void {
    this.connected = false;
    this.isSynced = false;
  }

  /** Stop following the stream for good (the store is closing). */
  stop(): void {
    this.stopped = true;
  }

  /** The k nearest live (unexpired) entries of `scope`, best first. */
  search(scope: string, vector: Float32Array, k: number): NearEntry[] {
    const now = this.now();
    return this.index
      .search(scope, vector, k, (id) => {
        const m = this.meta.get(id);
        return m && m.deadline > now ? { id, scope: m.scope, textKey: m.textKey } : undefined;
      })
      .map((n) => ({ ...n.value, score: n.score }));
  }

  /** This replica wrote `e`: its mirror need not wait for the event. A put without a vector drops any old one. */
  remember(e: EventEntry, ttlMs: number): void {
    this.track(e, ttlMs);
    if (e.vector) this.index.add(e.id, e.scope, e.vector);
    else this.index.remove(e.id);
  }

  forget(id: string): void {
    this.meta.delete(id);
    this.index.remove(id);
  }

  /** Drop the entries `filter` matches; of the scopes of event shard `shard` alone, when given. */
  applyPurge(filter: PurgeFilter, shard?: number): void {
    for (const [id, m] of this.meta) if (matchesPurge(filter, m) && (shard === undefined || this.layout.shardOfScope(m.scope) === shard)) this.forget(id);
  }

  /**
   * Apply one event read from the stream (its fields as XREAD returns them); an unknown op is ignored. A purge is
   * written to every shard; read from shard `shard`, it applies to that shard's scopes only, so that it is ordered
   * against their puts as it was written, whatever order the shards are read in. `ageMs`: how long ago it was written.
   */
  applyEvent(fields: Buffer[], shard?: number, ageMs = 0): void {
    const ev = decodeEvent(fields);
    if (ev?.op === 'put') {
      // Its TTL runs from the write, not from when this replica read it (a poll may read it a while later).
      this.track(ev.entry, ev.ttlMs - ageMs);
      if (ev.entry.vector) this.index.add(ev.entry.id, ev.entry.scope, ev.entry.vector);
    } else if (ev?.op === 'del') {
      this.forget(ev.id);
    } else if (ev?.op === 'purge') {
      this.applyPurge(ev.filter, this.layout.shards > 1 ? shard : undefined);
    }
  }

  private track(e: EventEntry, ttlMs: number): void {
    this.meta.set(e.id, { scope: e.scope, textKey: e.textKey, deadline: this.now() + ttlMs, tenant: e.tenant, namespace: e.namespace, model: e.model });
  }

  /** Rebuild from Redis. Events from `from` on are replayed after, so nothing written meanwhile is lost. */
  private async resync(): Promise<void> {
    const from = await Promise.all(
      this.layout.eventStreams.map(async (key) => (await this.redis.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0'),
    );
    this.meta.clear();
    this.index.clear();
    let sliceStart = performance.now();
    for await (const keys of scanEntryKeys(this.redis, this.prefix)) {
      const pipe = this.redis.pipeline();
      for (const k of keys) {
        pipe.hmgetBuffer(k, 'scope', 'textKey', 'tenant', 'namespace', 'model', 'vector');
        pipe.pttl(k);
      }
      const res = await execOrThrow(pipe);
      for (let i = 0; i < keys.length; i++) {
        const [scope, textKey, tenant, namespace, model, vector] = res[2 * i] as Array<Buffer | null>;
        const ttl = res[2 * i + 1] as number;
        if (!scope || !textKey || ttl <= 0) continue;
        const s = scope.toString();
        const t = textKey.toString();
        const id = entryId(s, t);
        this.meta.set(id, {
          scope: s,
          textKey: t,
          deadline: this.now() + ttl,
          tenant: tenant?.toString() ?? '',
          namespace: namespace?.toString() ?? '',
          model: model?.toString() ?? '',
        });
        if (vector) this.index.add(id, s, unpackVector(vector));
        // An HNSW insert into a large scope takes milliseconds, and a batch holds 500: give requests a turn.
        if (performance.now() - sliceStart > LOAD_SLICE_MS) {
          await delay(0);
          sliceStart = performance.now();
        }
      }
    }
    this.lastEventIds = from;
    this.isSynced = true;
    for (const w of this.syncedWaiters.splice(0)) w();
    this.logger.info({ entries: this.meta.size }, 'vector index loaded from redis');
    void this.pump();
  }

  /** Follow the event stream until stopped; survives disconnects (a reconnect resyncs first). */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      if (this.events) await this.follow(this.events);
      else await this.poll();
    } finally {
      this.pumping = false;
    }
  }

  /** One node: a blocking XREAD on the one stream, on the mirror's own connection. */
  private async follow(events: Redis): Promise<void> {
    const key = this.layout.eventStreams[0]!;
    while (!this.stopped) {
      if (!this.connected || !this.isSynced || events.status !== 'ready') {
        await delay(50);
        continue;
      }
      let reply: StreamReply;
      try {
        reply = (await events.xreadBuffer('COUNT', READ_COUNT, 'BLOCK', 1000, 'STREAMS', key, this.lastEventIds[0]!)) as StreamReply;
      } catch {
        await delay(50);
        continue;
      }
      if (!this.isSynced) continue; // a resync started meanwhile and will replay from its own point
      this.applyReply(0, reply);
    }
  }

  /** A cluster: every shard read at once (each its own slot), again at once while any had more. */
  private async poll(): Promise<void> {
    let failed = false;
    while (!this.stopped) {
      if (!this.connected || !this.isSynced) {
        // A load that failed (a master still away) is tried again: no reconnect event will come to ask for it.
        if (this.connected && !this.syncing) this.onConnected();
        await delay(Math.max(this.pollMs, RELOAD_RETRY_MS));
        continue;
      }
      const replies = await Promise.allSettled(
        this.layout.eventStreams.map((key, i) => this.redis.xreadBuffer('COUNT', READ_COUNT, 'STREAMS', key, this.lastEventIds[i]!) as Promise<StreamReply>),
      );
      if (!this.isSynced) continue;
      let more = false;
      replies.forEach((r, i) => {
        if (r.status !== 'fulfilled') return;
        this.applyReply(i, r.value);
        if ((r.value?.[0]?.[1].length ?? 0) === READ_COUNT) more = true;
      });
      const anyFailed = replies.some((r) => r.status === 'rejected');
      if (anyFailed && !failed) this.logger.warn({}, 'could not read some of the event streams from redis; the index is loaded again once they answer');
      if (failed && !anyFailed) {
        // Events written to the lost master but not yet copied to its replica are gone: load the index again.
        this.isSynced = false;
        this.onConnected();
      }
      failed = anyFailed;
      if (!more) await delay(this.pollMs);
    }
  }

  private applyReply(shard: number, reply: StreamReply): void {
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        const eventId = id.toString();
        // A stream id starts with the ms Redis wrote it at; a Redis clock behind ours only makes an entry expire sooner here.
        const age = Math.max(0, Date.now() - Number(eventId.slice(0, eventId.indexOf('-'))));
        this.applyEvent(fields, shard, Number.isFinite(age) ? age : 0);
        this.lastEventIds[shard] = eventId;
      }
    }
  }
}

type StreamReply = Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;

/** ms between tries to load the index on a cluster while some master does not answer. */
const RELOAD_RETRY_MS = 250;

/** ms of index building at most between turns of the event loop while the mirror loads. */
const LOAD_SLICE_MS = 10;

/** Events read per XREAD. */
const READ_COUNT = 1000;

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
