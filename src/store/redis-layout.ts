/**
 * @module store/redis-layout: replicas sharing one cache must agree on how it is laid out, and nothing else would
 * tell them they do not. Two replicas with different `--redis-shards` write their events, labels and stats to keys
 * the other never reads (each mirror goes stale, the error budget and /stats see half the fleet); a server-side
 * search replica cannot find by similarity what a mirror replica stored (no vector-set element). Neither serves a
 * wrong answer, so this only warns, loudly: each replica notes its layout, with when it last did, in one small hash
 * (`<prefix>:layouts`, a field per layout), at every connect and once a minute, and logs an error for any other layout
 * noted within the last ten minutes. A layout no replica has noted for that long (a finished migration) drops out.
 */
import type { Logger } from '../observe/logger.js';
import type { RedisClient } from './redis-connect.js';

export interface Layout {
  /** event and label shards: 1 on one node */
  shards: number;
  search: 'mirror' | 'server';
}

/** A layout noted longer ago than this is no longer any replica's. */
export const LAYOUT_STALE_MS = 10 * 60_000;

const field = (l: Layout) => `shards=${l.shards} search=${l.search}`;
function parse(f: string): Layout | undefined {
  const m = /^shards=(\d+) search=(mirror|server)$/.exec(f);
  return m ? { shards: Number(m[1]), search: m[2] as Layout['search'] } : undefined;
}

/** Why a replica laid out as `mine` and one laid out as `other` do not work together; undefined if they do. */
export function conflict(mine: Layout, other: Layout): string | undefined {
  if (other.shards !== mine.shards) return `another replica uses --redis-shards ${other.shards} and this one ${mine.shards}: neither reads the other's events, labels or stats`;
  // A server-mode writer also writes what a mirror loads (the hash, the event): only this direction breaks.
  if (mine.search === 'server' && other.search === 'mirror') return 'another replica uses --redis-search mirror: what it stores has no vector-set element, so this replica finds it only by exact match';
  return undefined;
}

/**
 * Note this replica's layout and return the conflicts with the others noted recently (and forget the stale ones).
 * A Redis fault propagates: the caller tries again at the next connect or minute.
 */
export async function checkLayout(redis: RedisClient, prefix: string, mine: Layout, now: number): Promise<string[]> {
  const key = `${prefix}:layouts`;
  await redis.hset(key, field(mine), String(now));
  const noted = await redis.hgetall(key);
  const out: string[] = [];
  const stale: string[] = [];
  for (const [f, at] of Object.entries(noted)) {
    if (f === field(mine)) continue;
    if (now - Number(at) > LAYOUT_STALE_MS) {
      stale.push(f);
      continue;
    }
    const other = parse(f);
    const why = other && conflict(mine, other);
    if (why) out.push(why);
  }
  if (stale.length > 0) await redis.hdel(key, ...stale);
  return out;
}

/** Checks at every connect and every minute, logging each conflict as an error. */
export class LayoutWatch {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly opts: { redis: RedisClient; prefix: string; layout: Layout; now: () => number; logger: Logger; everyMs?: number },
  ) {}

  onConnected(): void {
    this.check();
    if (!this.timer) {
      this.timer = setInterval(() => this.check(), this.opts.everyMs ?? 60_000);
      this.timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    checkLayout(this.opts.redis, this.opts.prefix, this.opts.layout, this.opts.now())
      .then((conflicts) => {
        for (const why of conflicts) this.opts.logger.error({ layout: field(this.opts.layout) }, `replicas sharing this cache disagree: ${why}; give them all the same settings`);
      })
      .catch((err: Error) => this.opts.logger.debug({ err: err.message }, 'could not note the cache layout in redis; the next check retries'));
  }
}
