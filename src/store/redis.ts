/**
 * @module store/redis: one cache shared by many replicas, on any plain Redis 6+ or Valkey (no modules).
 *
 * Redis is the source of truth: each entry is one hash with a native TTL. Each replica mirrors the vectors (and a
 * little metadata) in process (store/redis-mirror), kept current by a Redis stream of the put/delete/purge events
 * this store publishes. Exact hits cost one Redis read; semantic hits one local search plus one pipelined read.
 * Entry bodies are always read from Redis, never from a local copy, so a key deleted in Redis by any means (an
 * operator's DEL, FLUSHDB, maxmemory eviction) stops hitting at once on every replica. Every command has a timeout
 * and nothing queues while Redis is away, so a fault surfaces at once and the request fails open.
 *
 * On a Redis Cluster (`cluster`) every key of a scope is in the scope's slot, so its reads and writes are one
 * master's work; the streams and stats every replica shares are split into shards over the masters
 * (store/redis-keys), and nothing sends one command or pipeline across slots of different masters.
 */
import type { ChainableCommander } from 'ioredis';
import type { Logger } from '../observe/logger.js';
import { silentLogger } from '../observe/logger.js';
import type { ReplicaStats } from '../observe/stats.js';
import { decodeEntry, encodeEntry, encodeEvent, entryKey, type StoreEvent } from './redis-codec.js';
import { StoreUnavailableError, execOrThrow, scanEntryKeys } from './redis-commands.js';
import { connectRedis, isCluster, nodesConnected, type RedisClient } from './redis-connect.js';
import { keyLayout, type KeyLayout } from './redis-keys.js';
import { RedisLabels } from './redis-labels.js';
import { LayoutWatch } from './redis-layout.js';
import { RedisMirror, type NearEntry } from './redis-mirror.js';
import { rescore } from './quantize.js';
import { RedisVectorSets, type VectorQuant } from './redis-vector-set.js';
import { entryId, matchesPurge, parseEntryId, type Candidate, type Entry, type IndexFactory, type LabelChannel, type PurgeFilter, type Store } from './types.js';

export { StoreUnavailableError };

export interface RedisStoreOptions {
  /** redis://[user:pass@]host:port[/db]; with `cluster`, one or more seed URLs, comma-separated */
  url: string;
  /** a Redis Cluster, reached through the seeds in `url` @default false */
  cluster?: boolean;
  /** on a cluster: how many shards the shared streams and stats index are split into (store/redis-keys) @default 16 */
  shards?: number;
  /** prefix of every key @default "reprise" */
  prefix?: string;
  /** ms a command may take before the request fails open @default 100 */
  timeoutMs?: number;
  /** events kept in the stream for replicas that fall behind @default 10000 */
  streamLength?: number;
  /** error-budget label batches kept for replicas that start late (labelChannel) @default 10000 */
  labelStreamLength?: number;
  /** ms between reads of the error-budget labels other replicas shared @default 100 */
  labelPollMs?: number;
  /**
   * where vectors are searched: `mirror`, an index in each replica's process (any Redis); `server`, Redis 8 vector
   * sets (store/redis-vector-set), with nothing per entry in process @default "mirror"
   */
  search?: 'mirror' | 'server';
  /** the vector sets' storage of vectors, with `search: "server"` @default "q8" */
  vectorQuant?: VectorQuant;
  /** ms between sweeps of expired vector-set elements, with `search: "server"`; 0 = none @default 60000 */
  sweepMs?: number;
  /** VSIM's EF (recall against time), with `search: "server"` @default 200 */
  searchEf?: number;
  hnswMin?: number;
  largeIndex?: IndexFactory;
  now?: () => number;
  logger?: Logger;
}

export type StoreStatus = 'connecting' | 'ready' | 'down';

/** KEYS[1] the entry; ARGV: the createdAt it must still have, the TTL in ms, then the new entry's fields and values. */
const PUT_OVER = `
if redis.call('HGET', KEYS[1], 'createdAt') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** Index members whose key expired longer ago than this are pruned: a margin for replicas' clocks to disagree. */
const STATS_PRUNE_AFTER_MS = 60_000;

/** A shared stats value, if it has the shape this version reads. */
function parseReplicaStats(json: string): ReplicaStats | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  const o = v as Partial<ReplicaStats> | null;
  const t = o?.timeline;
  const ok =
    typeof o?.replica === 'string' &&
    typeof o.at === 'number' &&
    typeof o.snapshot === 'object' &&
    o.snapshot !== null &&
    typeof t === 'object' &&
    t !== null &&
    Array.isArray(t.minutes) &&
    Array.isArray(t.top) &&
    Array.isArray(t.recentMisses);
  return ok ? (o as ReplicaStats) : undefined;
}

export class RedisStore implements Store {
  private readonly redis: RedisClient;
  /** a second connection for the mirror's blocking XREAD; a cluster's streams are polled on `redis` instead */
  private readonly events: RedisClient | undefined;
  private readonly prefix: string;
  private readonly keys: KeyLayout;
  /** the vector search: a mirror in process, or Redis 8's vector sets */
  private readonly mirror: RedisMirror | RedisVectorSets;
  private readonly logger: Logger;
  private readonly streamLength: number;
  private readonly labelStreamLength: number;
  private readonly labelPollMs: number;
  /** stop functions of the label channels' readers */
  private readonly followers = new Set<() => void>();
  private readonly layout: LayoutWatch;
  private readonly now: () => number;
  private state: StoreStatus = 'connecting';
  private isClosed = false;

  constructor(opts: RedisStoreOptions) {
    this.prefix = opts.prefix ?? 'reprise';
    this.keys = keyLayout(this.prefix, opts.cluster ? (opts.shards ?? 16) : undefined);
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.streamLength = opts.streamLength ?? 10_000;
    this.labelStreamLength = opts.labelStreamLength ?? 10_000;
    this.labelPollMs = opts.labelPollMs ?? 100;
    // Fail fast instead of queueing while disconnected: the request goes upstream now, not after a reconnect.
    this.redis = connectRedis({ url: opts.url, cluster: opts.cluster ?? false, commandTimeoutMs: opts.timeoutMs ?? 100 });
    this.events = opts.cluster ? undefined : connectRedis({ url: opts.url });
    this.mirror = opts.search === 'server' ? new RedisVectorSets({
      redis: this.redis,
      prefix: this.prefix,
      ...(opts.vectorQuant && { quant: opts.vectorQuant }),
      ...(opts.sweepMs !== undefined && { sweepMs: opts.sweepMs }),
      ...(opts.searchEf !== undefined && { searchEf: opts.searchEf }),
      now: this.now,
      logger: this.logger,
    }) : new RedisMirror({
      redis: this.redis,
      ...(this.events && !isCluster(this.events) && { events: this.events }),
      prefix: this.prefix,
      layout: this.keys,
      index: { ...(opts.hnswMin !== undefined && { hnswMin: opts.hnswMin }), ...(opts.largeIndex && { largeIndex: opts.largeIndex }) },
      now: this.now,
      logger: this.logger,
    });
    this.layout = new LayoutWatch({
      redis: this.redis,
      prefix: this.prefix,
      layout: { shards: this.keys.eventStreams.length, search: opts.search ?? 'mirror' },
      now: this.now,
      logger: this.logger,
    });
    this.redis.on('ready', () => void nodesConnected(this.redis).then(() => this.redis.status === 'ready' && this.onReady()));
    this.redis.on('close', () => this.onClose());
    // Without listeners, ioredis's connection errors would be unhandled; the state change is what matters.
    this.redis.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'redis error'));
    this.events?.on('error', () => {});
  }

  /** shared secrets this replica holds, by key (sharedSecret) */
  private readonly secrets = new Map<string, Buffer>();

  /** close() has been called */
  get closed(): boolean {
    return this.isClosed;
  }

  get status(): StoreStatus {
    return this.state;
  }

  /** Connect in the background. Resolves at once, even when Redis is down: the proxy serves meanwhile. */
  async start(): Promise<void> {
    this.redis.connect().catch(() => {});
    this.events?.connect().catch(() => {});
  }

  /** Resolves once the local index has been loaded from Redis after the latest (re)connect. */
  synced(): Promise<void> {
    return this.mirror.synced();
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.mirror.stop();
    this.layout.stop();
    for (const stop of [...this.followers]) stop();
    // The event reader sits in a blocking XREAD: it is cut. Writes still queued (a store at the end of the drain)
    // are let finish with QUIT, for at most a second if Redis is not answering.
    this.events?.disconnect();
    const quit = this.redis.quit().catch(() => {});
    const pause = new Promise<void>((r) => setTimeout(r, 1_000).unref());
    await Promise.race([quit, pause]);
    this.redis.disconnect();
  }

  size(): number {
    return this.mirror.size;
  }

  /**
   * A secret every replica on this Redis shares (the tenant secret): the first to ask creates it (SET NX), the
   * others read it. Kept without a TTL; a replica that holds it puts it back after a reconnect if Redis lost it (a
   * restart without persistence). If every holder is gone too, a new one is made, and entries keyed with the old one
   * are never found again (they expire): no tenant can reach another's through it. A FLUSHDB while connected is not
   * seen until the next reconnect.
   */
  async sharedSecret(name: string): Promise<Uint8Array> {
    this.ensureReady();
    const key = `${this.prefix}:${name}`;
    const fresh = Buffer.from(crypto.getRandomValues(new Uint8Array(32)));
    await this.redis.set(key, fresh, 'NX');
    const stored = await this.redis.getBuffer(key);
    if (!stored || stored.length < 16) throw new StoreUnavailableError(`no ${name} in redis`);
    this.secrets.set(key, stored);
    return new Uint8Array(stored);
  }

  /**
   * After a reconnect, the secrets this replica holds are put back if Redis lost them (a restart without persistence,
   * FLUSHDB): else a replica started later would make a new one, and the two would key one caller's tenant apart.
   */
  private restoreSecrets(): void {
    for (const [key, value] of this.secrets) {
      const restore = async () => {
        await this.redis.set(key, value, 'NX');
        const stored = await this.redis.getBuffer(key);
        // Another replica made a new one first (every holder was away): the two now key tenants apart, and a purge
        // through one misses what the other stored. Only a restart makes this one read the new secret.
        if (stored && !stored.equals(value)) this.logger.error({ key }, 'the shared secret in redis is not the one this replica holds: restart this replica');
      };
      restore().catch((err: unknown) => this.logger.warn({ err: String(err) }, 'could not put the shared secret back in redis'));
    }
  }

  async getExact(scope: string, textKey: string): Promise<Entry | undefined> {
    this.ensureReady();
    const id = entryId(scope, textKey);
    const entry = decodeEntry(id, await this.redis.hgetallBuffer(entryKey(this.prefix, scope, textKey)));
    // (Vector sets are left be: a removal per exact miss would cost a write each; search and the sweep clean up.)
    if (!entry && this.mirror instanceof RedisMirror) this.mirror.forget(id);
    return entry;
  }

  async search(scope: string, vector: Float32Array, k: number): Promise<Candidate[]> {
    this.ensureReady();
    const near = await this.mirror.search(scope, vector, k);
    if (near.length === 0) return [];
    const first = await this.read(near);
    let found = first.found;
    // Server-side search asks first without passing over expired elements (twice as fast); if expired ones not yet
    // swept filled the reply, a live one may have been left out: ask again, passing over them in Redis.
    if (this.mirror instanceof RedisVectorSets && found.length < k && first.gone > 0 && near.length === this.mirror.asked(k)) {
      ({ found } = await this.read(await this.mirror.search(scope, vector, k, true)));
    }
    // The mirror's index proposes (an i8 one with approximate scores); the entry read holds the float vector.
    // Vector sets are asked for more than k (their int8 ranking may misplace near ties): the exact score picks k.
    return rescore(vector, found).slice(0, k);
  }

  /**
   * The candidates' entries, in one round trip. One that has vanished from Redis leaves the mirror too; with
   * server-side search so does one past its expiry (its key may outlive it by a moment, or by a clock's skew).
   */
  private async read(near: NearEntry[]): Promise<{ found: Candidate[]; gone: number }> {
    if (near.length === 0) return { found: [], gone: 0 };
    const pipe = this.redis.pipeline();
    for (const n of near) pipe.hgetallBuffer(entryKey(this.prefix, n.scope, n.textKey));
    const hashes = await execOrThrow(pipe);
    const now = this.now();
    const checkExpiry = this.mirror instanceof RedisVectorSets;
    const found: Candidate[] = [];
    near.forEach((n, i) => {
      const entry = decodeEntry(n.id, hashes[i] as Record<string, Buffer>);
      if (entry && !(checkExpiry && entry.expiresAt <= now)) found.push({ entry, score: n.score });
      else void Promise.resolve(this.mirror.forget(n.id)).catch(() => {});
    });
    return { found, gone: near.length - found.length };
  }

  async put(entry: Entry, ttlSeconds: number): Promise<void> {
    this.ensureReady();
    const id = entryId(entry.scope, entry.textKey);
    const key = entryKey(this.prefix, entry.scope, entry.textKey);
    const ttlMs = ttlSeconds * 1000;
    const stored = { ...entry, id };
    const pipe = this.redis.pipeline().del(key).hset(key, encodeEntry(stored)).pexpire(key, ttlMs);
    await this.withEvent(pipe, { op: 'put', entry: stored, ttlMs }, entry.scope);
    await this.mirror.remember(stored, ttlMs);
  }

  async putOver(entry: Entry, ttlSeconds: number, createdAt: number): Promise<boolean> {
    this.ensureReady();
    const id = entryId(entry.scope, entry.textKey);
    const key = entryKey(this.prefix, entry.scope, entry.textKey);
    const ttlMs = ttlSeconds * 1000;
    const stored = { ...entry, id };
    // The check and the write in one script on the entry's own key (one slot); the event goes after, on its own, as
    // the stream is in another slot. A replica that misses it still has the entry without its vector: exact-only.
    const fields = Object.entries(encodeEntry(stored)).flat();
    const done = await this.redis.eval(PUT_OVER, 1, key, String(createdAt), String(ttlMs), ...fields);
    if (done !== 1) return false;
    await this.announce({ op: 'put', entry: stored, ttlMs }, entry.scope);
    await this.mirror.remember(stored, ttlMs);
    return true;
  }

  async delete(id: string): Promise<boolean> {
    this.ensureReady();
    const at = parseEntryId(id);
    if (!at) return false;
    const pipe = this.redis.pipeline().del(entryKey(this.prefix, at.scope, at.textKey));
    const [deleted] = await this.withEvent(pipe, { op: 'del', id }, at.scope);
    await this.mirror.forget(id);
    return (deleted as number) > 0;
  }

  /** With server-side search, remove the vector-set elements whose entries expired now, not at the next timed sweep. */
  async sweep(): Promise<number> {
    this.ensureReady();
    return this.mirror instanceof RedisVectorSets ? this.mirror.sweep() : 0;
  }

  /** SCAN, not the local mirror: Redis is the source of truth, and a replica may have joined late. */
  async purge(filter: PurgeFilter): Promise<number> {
    this.ensureReady();
    let deleted = 0;
    for await (const keys of scanEntryKeys(this.redis, this.prefix)) {
      const pipe = this.redis.pipeline();
      for (const k of keys) pipe.hmget(k, 'tenant', 'namespace', 'model');
      const fields = await execOrThrow(pipe);
      const doomed = keys.filter((_, i) => {
        const [tenant, namespace, model] = fields[i] as Array<string | null>;
        return tenant !== null && matchesPurge(filter, { tenant, namespace: namespace ?? '', model: model ?? '' });
      });
      if (doomed.length > 0) deleted += await this.deleteKeys(doomed);
      if (this.mirror instanceof RedisVectorSets) await this.mirror.purged(doomed);
    }
    // Every shard hears it, each ordered against its own scopes' puts (RedisMirror.applyEvent).
    await Promise.all(this.keys.eventStreams.map((_, shard) => this.announce({ op: 'purge', filter }, undefined, shard)));
    if (this.mirror instanceof RedisMirror) this.mirror.applyPurge(filter);
    return deleted;
  }

  /**
   * This replica's stats, for the others' /stats: one string key per replica (`<prefix>:stats:<replica>`) that
   * expires on its own, so a replica that stops sharing (stopped, crashed, cut off) drops out after `ttlSeconds`;
   * and its id in a sorted set (`<prefix>:stats-index`, scored by when the key expires) so that readers find every
   * key without SCAN. Members whose key expired a while ago are pruned here, by score: atomic, so a replica that has
   * just shared again is never pruned. Neither purge nor the mirror's SCAN of entry keys sees them. On a cluster the
   * index is split into shards (store/redis-keys), a replica's key tagged into its index shard's slot.
   */
  async shareStats(stats: ReplicaStats, ttlSeconds: number): Promise<void> {
    this.ensureReady();
    const ttlMs = Math.max(1, Math.round(ttlSeconds * 1000));
    // The wall clock, not the `now` option (a test's): Redis expires the keys in real time.
    const now = Date.now();
    // The replica's key and its index shard are in one slot (store/redis-keys), so one pipeline even on a cluster.
    const index = this.keys.statsIndexes[this.keys.shardOfReplica(stats.replica)]!;
    const pipe = this.redis
      .pipeline()
      .set(this.keys.statsKey(stats.replica), JSON.stringify(stats), 'PX', ttlMs)
      .zadd(index, now + ttlMs, stats.replica)
      .zremrangebyscore(index, '-inf', now - STATS_PRUNE_AFTER_MS)
      // Once every replica has stopped, the index goes too.
      .pexpire(index, ttlMs + STATS_PRUNE_AFTER_MS);
    await execOrThrow(pipe);
  }

  /**
   * Every replica's stats that have not expired, this one's included: the index's members, then their keys in one
   * MGET; a member whose key has expired is skipped (Redis's expiry decides, not clocks), as is one that does not
   * parse (a replica of another version). Rejects at once while Redis is away, and within the command timeout per
   * round trip (two) when it does not answer.
   */
  async peerStats(): Promise<ReplicaStats[]> {
    this.ensureReady();
    // One index per shard (one on a single node), each read with the MGET of its own slot's keys; shards at once.
    const shards = await Promise.all(
      this.keys.statsIndexes.map(async (index) => {
        const members = await this.redis.zrange(index, 0, -1);
        return { members, values: members.length === 0 ? [] : await this.redis.mget(...members.map((r) => this.keys.statsKey(r))) };
      }),
    );
    const replicas = shards.flatMap((s) => s.members);
    const values = shards.flatMap((s) => s.values);
    const out: ReplicaStats[] = [];
    values.forEach((v, i) => {
      const stats = v === null ? undefined : parseReplicaStats(v);
      if (stats && stats.replica === replicas[i]) out.push(stats);
      else if (v !== null) this.logger.debug({ replica: replicas[i] }, 'unreadable replica stats in redis; skipped');
    });
    return out;
  }

  /**
   * The error budget's labels shared among the replicas on this Redis (store/redis-labels): published with XADD to
   * one capped stream, read by each replica every `labelPollMs` from where it left off (a new replica from the
   * stream's start). Each reader stops when the store closes.
   */
  labelChannel(replica: string): LabelChannel {
    const channel = new RedisLabels({
      redis: this.redis,
      prefix: this.prefix,
      layout: this.keys,
      replica,
      maxLength: this.labelStreamLength,
      pollMs: this.labelPollMs,
      ready: () => this.state === 'ready' && !this.isClosed,
      logger: this.logger,
    });
    return {
      publish: (batch) => channel.publish(batch),
      follow: (apply) => {
        if (this.isClosed) return () => {};
        const stop = channel.follow(apply);
        const done = () => {
          this.followers.delete(done);
          stop();
        };
        this.followers.add(done);
        return done;
      },
    };
  }

  /**
   * Run `pipe` (the writes to one entry's key) and tell every replica with an event in the scope's stream: in the
   * same pipeline on one node; on a cluster the stream is in another slot, so after it, on its own. Returns the
   * pipeline's replies, the event's left out.
   */
  private async withEvent(pipe: ChainableCommander, ev: StoreEvent, scope: string): Promise<unknown[]> {
    if (!isCluster(this.redis)) {
      const replies = await execOrThrow(pipe.xadd(this.keys.eventStreams[0]!, 'MAXLEN', '~', this.streamLength, '*', ...encodeEvent(ev)));
      return replies.slice(0, -1);
    }
    const replies = await execOrThrow(pipe);
    await this.announce(ev, scope);
    return replies;
  }

  /** XADD `ev` to the stream of `scope`'s shard (or of shard `shard`), each shard capped at its part of streamLength. */
  private async announce(ev: StoreEvent, scope: string | undefined, shard = this.keys.shardOfScope(scope ?? '')): Promise<void> {
    const cap = Math.ceil(this.streamLength / this.keys.shards);
    await this.redis.xadd(this.keys.eventStreams[shard]!, 'MAXLEN', '~', cap, '*', ...encodeEvent(ev));
  }

  /** DEL of keys found by one SCAN batch: one command on one node; on a cluster one DEL per key (each its own slot), pipelined to their master. */
  private async deleteKeys(keys: string[]): Promise<number> {
    if (!isCluster(this.redis)) return (await this.redis.del(...keys)) as number;
    const pipe = this.redis.pipeline();
    for (const k of keys) pipe.del(k);
    return (await execOrThrow(pipe)).reduce<number>((n, d) => n + (d as number), 0);
  }

  private ensureReady(): void {
    if (this.state !== 'ready') throw new StoreUnavailableError(`redis is ${this.state}`);
  }

  private onReady(): void {
    this.state = 'ready';
    this.restoreSecrets();
    this.layout.onConnected();
    this.logger.info({}, 'redis connected; loading the vector index');
    this.mirror.onConnected();
  }

  private onClose(): void {
    if (this.isClosed || this.state === 'down') return;
    if (this.state === 'ready') this.logger.warn({}, 'redis connection lost; failing open until it is back');
    this.state = 'down';
    this.mirror.onDisconnected();
  }
}
