/**
 * @module store/redis-vector-set: server-side vector search for the Redis store (`--redis-search server`), on Redis 8's
 * vector sets. Each scope has one vector set (`<prefix>:vset:{<scope>}`; its `{scope}` tag puts it in the slot of the
 * scope's entry keys) whose elements are the entries' textKeys, with the expiry as attribute (`{"e": ms}`), and one
 * sorted set of those expiries (`<prefix>:vexp:{<scope>}`). Neither key matches the entry-key pattern, so purge's SCAN
 * and a mirror's load never read them. The replica holds nothing per entry: it starts at once and its memory does not
 * depend on how many entries there are.
 *
 * VSIM only ranks: its score is (1 + cosine) / 2, on vectors that may be int8-quantised. The score returned is the
 * exact cosine against the float32 vector kept in the entry's hash, which the store reads anyway, so thresholds
 * calibrated on the mirror hold unchanged.
 *
 * A vector set has no per-element TTL, so an element outlives its entry's key. The store drops any whose entry has
 * expired or gone (deleted in Redis by any means) when it reads the candidates, asks again passing over expired ones
 * in Redis (`FILTER .e > now`) when they crowded the reply, and a periodic sweep removes the elements whose expiry
 * has passed, read from the sorted set, so memory is given back without walking the vector sets.
 */
import type { ChainableCommander } from 'ioredis';
import { scanTargets, type RedisClient } from './redis-connect.js';
import type { Logger } from '../observe/logger.js';
import type { EventEntry } from './redis-codec.js';
import { packVector } from './redis-codec.js';
import { execOrThrow } from './redis-commands.js';
import type { NearEntry } from './redis-mirror.js';
import { entryId, parseEntryId } from './types.js';

/** How the vector set stores vectors: int8 (VADD's default, a quarter of float32's memory) or float32. */
export type VectorQuant = 'q8' | 'noquant';

export interface RedisVectorSetsOptions {
  /** the store's command connection, with its command timeout */
  redis: RedisClient;
  prefix: string;
  /** @default "q8" */
  quant?: VectorQuant;
  /** ms between sweeps of expired elements; 0 = none (a test calls sweep()) @default 60000 */
  sweepMs?: number;
  /** VSIM's EF, how many candidates its graph search keeps: recall against time @default 200 */
  searchEf?: number;
  now: () => number;
  logger: Logger;
}

/** The vector set of one scope. Not `<prefix>:{…}:…`, so the entry-key SCAN never sees it. */
export const vectorSetKey = (prefix: string, scope: string) => `${prefix}:vset:{${scope}}`;
/** The scope's elements by expiry (ms since epoch): what the sweep reads. */
export const expiryKey = (prefix: string, scope: string) => `${prefix}:vexp:{${scope}}`;

/** Elements removed per sweep round trip: bounded, so one sweep never blocks Redis for long. */
const SWEEP_BATCH = 500;
/** Extra candidates asked of VSIM, so that int8 ranking errors rarely push the exact best out of the top k. */
const OVERFETCH = 2;
/**
 * VSIM's EF by default: twice Redis' own (100). At 100,000 random 384-d vectors in one set (bench/redis-search-ef.ts),
 * 100 found the nearest element 92.4% of the time and 200 98.2%, for about 3 ms more per search (400: 100%, 8 ms
 * more); a search VSIM misses is an upstream call, so those 3 ms are worth it (README, "Several replicas").
 */
export const DEFAULT_SEARCH_EF = 200;

export class RedisVectorSets {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly quant: VectorQuant;
  private readonly sweepMs: number;
  private readonly ef: string;
  private readonly now: () => number;
  private readonly logger: Logger;
  private timer: ReturnType<typeof setInterval> | undefined;
  private connected = false;
  private waiters: Array<() => void> = [];
  private counted = 0;

  constructor(opts: RedisVectorSetsOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix;
    this.quant = opts.quant ?? 'q8';
    this.sweepMs = opts.sweepMs ?? 60_000;
    this.ef = String(opts.searchEf ?? DEFAULT_SEARCH_EF);
    this.now = opts.now;
    this.logger = opts.logger;
  }

  /** Elements in the vector sets (entries with a vector) as of the last sweep: this process holds none itself. */
  get size(): number {
    return this.counted;
  }

  /** Nothing to load: ready as soon as Redis is. */
  synced(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  onConnected(): void {
    this.connected = true;
    for (const w of this.waiters.splice(0)) w();
    if (this.sweepMs > 0 && !this.timer) {
      this.timer = setInterval(() => {
        this.sweep().catch((err: Error) => this.logger.debug({ err: err.message }, 'vector set sweep failed; the next one retries'));
      }, this.sweepMs);
      this.timer.unref();
    }
  }

  onDisconnected(): void {
    this.connected = false;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * The elements of `scope` nearest `vector`, k × OVERFETCH of them, by VSIM (its score is only for ranking: the store
   * re-scores by exact cosine, store/quantize, and keeps k). An absent vector set is an empty scope.
   *
   * Without `live`, expired elements not yet swept may be among them: the store drops those when it reads their
   * entries, and asks again with `live` only when they took places a live element might have had. `live` passes
   * over them inside Redis (`FILTER ".e > now"`), which made VSIM take about twice as long (20k 384-d elements:
   * p50 2.5 ms without, 5.0 ms with), so it is not the first try.
   */
  async search(scope: string, vector: Float32Array, k: number, live = false): Promise<NearEntry[]> {
    if (k <= 0) return [];
    const filter = live ? ['FILTER', `.e > ${this.now()}`] : [];
    const reply = (await this.redis.call(
      'VSIM', vectorSetKey(this.prefix, scope), 'FP32', packVector(vector), 'WITHSCORES', 'COUNT', String(this.asked(k)), 'EF', this.ef, ...filter,
    )) as string[] | null;
    const out: NearEntry[] = [];
    for (let i = 0; i + 1 < (reply?.length ?? 0); i += 2) {
      const textKey = reply![i]!;
      out.push({ id: entryId(scope, textKey), scope, textKey, score: 2 * Number(reply![i + 1]) - 1 });
    }
    return out;
  }

  /** How many elements a search for k asks VSIM for: a reply this long may have left live ones out. */
  asked(k: number): number {
    return k * OVERFETCH;
  }

  /** The entry was written (put, putOver): its vector into its scope's set with its expiry, or out if it has none. */
  async remember(e: EventEntry, ttlMs: number): Promise<void> {
    const pipe = this.redis.pipeline();
    if (e.vector) {
      const expires = this.now() + ttlMs;
      const quant = this.quant === 'noquant' ? 'NOQUANT' : 'Q8';
      pipe.call('VADD', vectorSetKey(this.prefix, e.scope), 'FP32', packVector(e.vector), e.textKey, quant, 'SETATTR', JSON.stringify({ e: expires }));
      pipe.zadd(expiryKey(this.prefix, e.scope), expires, e.textKey);
    } else {
      this.removeIn(pipe, e.scope, e.textKey);
    }
    await execOrThrow(pipe);
  }

  /** An exact read found no entry: nothing to do here (a removal per exact miss would cost a write each). */
  missed(_id: string): void {}

  /** The entry is gone (deleted, or its hash was missing when a search read it): its element goes too. */
  async forget(id: string): Promise<void> {
    const at = parseEntryId(id);
    if (!at) return;
    const pipe = this.redis.pipeline();
    this.removeIn(pipe, at.scope, at.textKey);
    await execOrThrow(pipe);
  }

  /** Purge deleted these entry keys (`<prefix>:{<scope>}:<textKey>`): their elements go too. */
  async purged(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const head = `${this.prefix}:{`;
    const pipe = this.redis.pipeline();
    for (const key of keys) {
      const close = key.indexOf('}:', head.length);
      if (!key.startsWith(head) || close < 0) continue;
      this.removeIn(pipe, key.slice(head.length, close), key.slice(close + 2));
    }
    await execOrThrow(pipe);
  }

  /**
   * Remove every element whose expiry has passed, scope by scope (SCAN over the expiry sets of every master, then
   * bounded batches from each), and count what is left. Every replica sweeps; the removals are idempotent.
   */
  async sweep(): Promise<number> {
    let removed = 0;
    let left = 0;
    const now = this.now();
    for (const node of scanTargets(this.redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${this.prefix}:vexp:{*}`, 'COUNT', SWEEP_BATCH);
        cursor = next;
        for (const key of keys) {
          const [gone, live] = await this.sweepScope(key, now);
          removed += gone;
          left += live;
        }
      } while (cursor !== '0');
    }
    this.counted = left;
    return removed;
  }

  /** One scope's expired elements out, in bounded batches (each one slot's pipeline); returns [removed, left]. */
  private async sweepScope(key: string, now: number): Promise<[number, number]> {
    const scope = key.slice(`${this.prefix}:vexp:{`.length, -1);
    let removed = 0;
    for (;;) {
      const doomed = await this.redis.zrangebyscore(key, '-inf', now, 'LIMIT', 0, SWEEP_BATCH);
      if (doomed.length === 0) break;
      const pipe = this.redis.pipeline();
      for (const textKey of doomed) pipe.call('VREM', vectorSetKey(this.prefix, scope), textKey);
      pipe.zrem(key, ...doomed);
      await execOrThrow(pipe);
      removed += doomed.length;
      if (doomed.length < SWEEP_BATCH) break;
    }
    return [removed, await this.redis.zcard(key)];
  }

  private removeIn(pipe: ChainableCommander, scope: string, textKey: string): void {
    pipe.call('VREM', vectorSetKey(this.prefix, scope), textKey);
    pipe.zrem(expiryKey(this.prefix, scope), textKey);
  }
}
