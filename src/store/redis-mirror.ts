/**
 * @module store/redis-mirror: what each replica keeps of the Redis store in process: the vectors and a little
 * metadata. Loaded with SCAN at every (re)connect and kept current by following the event stream; it never holds an
 * entry's body, so it only proposes candidates and the store reads them from Redis.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../observe/logger.js';
import { decodeEvent, eventStreamKey, unpackVector, type EventEntry } from './redis-codec.js';
import { execOrThrow, scanEntryKeys } from './redis-commands.js';
import { ScopedIndex, type ScopedIndexOptions } from './scoped-index.js';
import { entryId, matchesPurge, type PurgeFilter } from './types.js';

export interface RedisMirrorOptions {
  /** the store's command connection (with its command timeout): SCAN and the replay point */
  redis: Redis;
  /** a second connection, for the blocking XREAD alone */
  events: Redis;
  /** prefix of every key */
  prefix: string;
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
  private readonly redis: Redis;
  private readonly events: Redis;
  private readonly prefix: string;
  private readonly streamKey: string;
  private readonly index: ScopedIndex;
  private readonly meta = new Map<string, Meta>();
  private readonly now: () => number;
  private readonly logger: Logger;
  private lastEventId = '0-0';
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
    this.streamKey = eventStreamKey(opts.prefix);
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
      .finally(() => (this.syncing = undefined));
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

  applyPurge(filter: PurgeFilter): void {
    for (const [id, m] of this.meta) if (matchesPurge(filter, m)) this.forget(id);
  }

  /** Apply one event read from the stream (its fields as XREAD returns them); an unknown op is ignored. */
  applyEvent(fields: Buffer[]): void {
    const ev = decodeEvent(fields);
    if (ev?.op === 'put') {
      this.track(ev.entry, ev.ttlMs);
      if (ev.entry.vector) this.index.add(ev.entry.id, ev.entry.scope, ev.entry.vector);
    } else if (ev?.op === 'del') {
      this.forget(ev.id);
    } else if (ev?.op === 'purge') {
      this.applyPurge(ev.filter);
    }
  }

  private track(e: EventEntry, ttlMs: number): void {
    this.meta.set(e.id, { scope: e.scope, textKey: e.textKey, deadline: this.now() + ttlMs, tenant: e.tenant, namespace: e.namespace, model: e.model });
  }

  /** Rebuild from Redis. Events from `from` on are replayed after, so nothing written meanwhile is lost. */
  private async resync(): Promise<void> {
    const last = await this.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', 1);
    const from = last[0]?.[0] ?? '0-0';
    this.meta.clear();
    this.index.clear();
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
      }
    }
    this.lastEventId = from;
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
      while (!this.stopped) {
        if (!this.connected || !this.isSynced || this.events.status !== 'ready') {
          await delay(50);
          continue;
        }
        let reply: Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
        try {
          reply = (await this.events.xreadBuffer('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', this.streamKey, this.lastEventId)) as typeof reply;
        } catch {
          await delay(50);
          continue;
        }
        if (!this.isSynced) continue; // a resync started meanwhile and will replay from its own point
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            this.applyEvent(fields);
            this.lastEventId = id.toString();
          }
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
