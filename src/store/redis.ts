/**
 * @module store/redis: one cache shared by many replicas, on any plain Redis 6+ or Valkey (no modules).
 *
 * Redis is the source of truth: each entry is one hash with a native TTL. Each replica mirrors the vectors (and a
 * little metadata) in an in-process index, loaded with SCAN at every (re)connect and kept current by a Redis stream
 * of put/delete/purge events. Exact hits cost one Redis read; semantic hits one local search plus one pipelined
 * read. Entry bodies are always read from Redis, never from a local copy, so a key deleted in Redis by any means
 * (an operator's DEL, FLUSHDB, maxmemory eviction) stops hitting at once on every replica. Every command has a
 * timeout and nothing queues while Redis is away, so a fault surfaces at once and the request fails open.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../observe/logger.js';
import { silentLogger } from '../observe/logger.js';
import { decodeEntry, encodeEntry, entryKey, packVector, unpackVector } from './redis-codec.js';
import { ScopedIndex } from './scoped-index.js';
import { entryId, parseEntryId, type Candidate, type Entry, type IndexFactory, type PurgeFilter, type Store } from './types.js';

export interface RedisStoreOptions {
  /** redis://[user:pass@]host:port[/db] */
  url: string;
  /** prefix of every key @default "reprise" */
  prefix?: string;
  /** ms a command may take before the request fails open @default 100 */
  timeoutMs?: number;
  /** events kept in the stream for replicas that fall behind @default 10000 */
  streamLength?: number;
  hnswMin?: number;
  largeIndex?: IndexFactory;
  now?: () => number;
  logger?: Logger;
}

export type StoreStatus = 'connecting' | 'ready' | 'down';

/** Thrown while Redis is not connected: the caller fails open without waiting. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
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

const SCAN_BATCH = 500;

export class RedisStore implements Store {
  private readonly redis: Redis;
  /** a second connection for the blocking XREAD */
  private readonly events: Redis;
  private readonly prefix: string;
  private readonly streamKey: string;
  private readonly index: ScopedIndex;
  private readonly meta = new Map<string, Meta>();
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly streamLength: number;
  private lastEventId = '0-0';
  private state: StoreStatus = 'connecting';
  private closed = false;
  private syncing: Promise<void> | undefined;
  private syncedWaiters: Array<() => void> = [];
  private isSynced = false;
  private pumping = false;

  constructor(opts: RedisStoreOptions) {
    this.prefix = opts.prefix ?? 'reprise';
    this.streamKey = `${this.prefix}:events`;
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger ?? silentLogger;
    this.streamLength = opts.streamLength ?? 10_000;
    this.index = new ScopedIndex({ ...(opts.hnswMin !== undefined && { hnswMin: opts.hnswMin }), ...(opts.largeIndex && { largeIndex: opts.largeIndex }) });
    const common = {
      lazyConnect: true,
      // Fail fast instead of queueing while disconnected: the request goes upstream now, not after a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      retryStrategy: (times: number) => Math.min(50 * 2 ** times, 1_000),
    };
    this.redis = new Redis(opts.url, { ...common, commandTimeout: opts.timeoutMs ?? 100 });
    this.events = new Redis(opts.url, common);
    this.redis.on('ready', () => this.onReady());
    this.redis.on('close', () => this.onClose());
    // Without listeners, ioredis's connection errors would be unhandled; the state change is what matters.
    this.redis.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'redis error'));
    this.events.on('error', () => {});
  }

  get status(): StoreStatus {
    return this.state;
  }

  /** Connect in the background. Resolves at once, even when Redis is down: the proxy serves meanwhile. */
  async start(): Promise<void> {
    this.redis.connect().catch(() => {});
    this.events.connect().catch(() => {});
  }

  /** Resolves once the local index has been loaded from Redis after the latest (re)connect. */
  synced(): Promise<void> {
    if (this.isSynced) return Promise.resolve();
    return new Promise((resolve) => this.syncedWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.redis.disconnect();
    this.events.disconnect();
  }

  size(): number {
    return this.meta.size;
  }

  async getExact(scope: string, textKey: string): Promise<Entry | undefined> {
    this.ensureReady();
    const id = entryId(scope, textKey);
    const entry = decodeEntry(id, await this.redis.hgetallBuffer(entryKey(this.prefix, scope, textKey)));
    if (!entry) this.forget(id);
    return entry;
  }

  async search(scope: string, vector: Float32Array, k: number): Promise<Candidate[]> {
    this.ensureReady();
    const now = this.now();
    const near = this.index.search(scope, vector, k, (id) => {
      const m = this.meta.get(id);
      return m && m.deadline > now ? id : undefined;
    });
    if (near.length === 0) return [];
    // One round trip for all candidates; one that has vanished from Redis leaves the mirror too.
    const pipe = this.redis.pipeline();
    for (const n of near) {
      const m = this.meta.get(n.value)!;
      pipe.hgetallBuffer(entryKey(this.prefix, m.scope, m.textKey));
    }
    const hashes = await execOrThrow(pipe);
    const out: Candidate[] = [];
    near.forEach((n, i) => {
      const entry = decodeEntry(n.value, hashes[i] as Record<string, Buffer>);
      if (entry) out.push({ entry, score: n.score });
      else this.forget(n.value);
    });
    return out;
  }

  async put(entry: Entry, ttlSeconds: number): Promise<void> {
    this.ensureReady();
    const id = entryId(entry.scope, entry.textKey);
    const key = entryKey(this.prefix, entry.scope, entry.textKey);
    const ttlMs = ttlSeconds * 1000;
    const stored = { ...entry, id };
    const pipe = this.redis
      .pipeline()
      .del(key)
      .hset(key, encodeEntry(stored))
      .pexpire(key, ttlMs)
      .xadd(this.streamKey, 'MAXLEN', '~', this.streamLength, '*', ...this.putEvent(stored, ttlMs));
    await execOrThrow(pipe);
    this.remember(stored, ttlMs);
  }

  async delete(id: string): Promise<boolean> {
    this.ensureReady();
    const at = parseEntryId(id);
    if (!at) return false;
    const pipe = this.redis
      .pipeline()
      .del(entryKey(this.prefix, at.scope, at.textKey))
      .xadd(this.streamKey, 'MAXLEN', '~', this.streamLength, '*', 'op', 'del', 'id', id);
    const [deleted] = await execOrThrow(pipe);
    this.forget(id);
    return (deleted as number) > 0;
  }

  /** SCAN, not the local mirror: Redis is the source of truth, and a replica may have joined late. */
  async purge(filter: PurgeFilter): Promise<number> {
    this.ensureReady();
    let deleted = 0;
    for await (const keys of this.entryKeys()) {
      const pipe = this.redis.pipeline();
      for (const k of keys) pipe.hmget(k, 'tenant', 'namespace', 'model');
      const fields = await execOrThrow(pipe);
      const doomed = keys.filter((_, i) => {
        const [tenant, namespace, model] = fields[i] as Array<string | null>;
        return tenant !== null && matches(filter, { tenant, namespace: namespace ?? '', model: model ?? '' });
      });
      if (doomed.length > 0) deleted += (await this.redis.del(...doomed)) as number;
    }
    const f = Object.entries(filter).flatMap(([k, v]) => (v === undefined ? [] : [k, v]));
    await this.redis.xadd(this.streamKey, 'MAXLEN', '~', this.streamLength, '*', 'op', 'purge', ...f);
    this.applyPurge(filter);
    return deleted;
  }

  /** Every entry key, in SCAN batches: never KEYS, which would block Redis. */
  private async *entryKeys(): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:{*}:*`, 'COUNT', SCAN_BATCH);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }

  private ensureReady(): void {
    if (this.state !== 'ready') throw new StoreUnavailableError(`redis is ${this.state}`);
  }

  private putEvent(e: Entry, ttlMs: number): Array<string | Buffer> {
    return [
      'op', 'put', 'id', e.id, 'scope', e.scope, 'textKey', e.textKey, 'ttl', String(ttlMs),
      'tenant', e.tenant, 'namespace', e.namespace, 'model', e.model,
      ...(e.vector ? ['vector', packVector(e.vector)] : []),
    ];
  }

  private remember(e: Entry, ttlMs: number): void {
    this.meta.set(e.id, { scope: e.scope, textKey: e.textKey, deadline: this.now() + ttlMs, tenant: e.tenant, namespace: e.namespace, model: e.model });
    if (e.vector) this.index.add(e.id, e.scope, e.vector);
    else this.index.remove(e.id);
  }

  private forget(id: string): void {
    this.meta.delete(id);
    this.index.remove(id);
  }

  private applyPurge(filter: PurgeFilter): void {
    for (const [id, m] of this.meta) if (matches(filter, m)) this.forget(id);
  }

  private onReady(): void {
    this.state = 'ready';
    this.logger.info({}, 'redis connected; loading the vector index');
    this.syncing ??= this.resync()
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'could not load the vector index from redis'))
      .finally(() => (this.syncing = undefined));
  }

  private onClose(): void {
    if (this.closed || this.state === 'down') return;
    if (this.state === 'ready') this.logger.warn({}, 'redis connection lost; failing open until it is back');
    this.state = 'down';
    this.isSynced = false;
  }

  /** Rebuild the mirror from Redis. Events from `from` on are replayed after, so nothing written meanwhile is lost. */
  private async resync(): Promise<void> {
    const last = await this.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', 1);
    const from = last[0]?.[0] ?? '0-0';
    this.meta.clear();
    this.index.clear();
    for await (const keys of this.entryKeys()) {
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

  /** Follow the event stream until closed; survives disconnects (a reconnect resyncs first). */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed) {
        if (this.state !== 'ready' || !this.isSynced || this.events.status !== 'ready') {
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

  private applyEvent(fields: Buffer[]): void {
    const f = new Map<string, Buffer>();
    for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!.toString(), fields[i + 1]!);
    const s = (k: string) => f.get(k)?.toString();
    const op = s('op');
    if (op === 'put') {
      const id = s('id')!;
      this.meta.set(id, {
        scope: s('scope')!,
        textKey: s('textKey')!,
        deadline: this.now() + Number(s('ttl')),
        tenant: s('tenant') ?? '',
        namespace: s('namespace') ?? '',
        model: s('model') ?? '',
      });
      const v = f.get('vector');
      if (v) this.index.add(id, s('scope')!, unpackVector(v));
    } else if (op === 'del') {
      this.forget(s('id')!);
    } else if (op === 'purge') {
      this.applyPurge({
        ...(f.has('tenant') && { tenant: s('tenant') }),
        ...(f.has('namespace') && { namespace: s('namespace') }),
        ...(f.has('model') && { model: s('model') }),
      });
    }
  }
}

function matches(filter: PurgeFilter, m: { tenant: string; namespace: string; model: string }): boolean {
  return (
    (filter.tenant === undefined || m.tenant === filter.tenant) &&
    (filter.namespace === undefined || m.namespace === filter.namespace) &&
    (filter.model === undefined || m.model === filter.model)
  );
}

async function execOrThrow(pipe: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = await pipe.exec();
  if (!results) throw new StoreUnavailableError('pipeline was not executed');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
