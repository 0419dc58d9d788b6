/**
 * @module store/redis-labels: the error budget's labels shared among replicas through one capped Redis stream,
 * `<prefix>:budget-labels` (no `{...}` tag, so the entry SCANs never see it). Each batch a replica publishes is one
 * XADD (MAXLEN ~ `maxLength`: the stream holds the recent past, never the whole history) with the replica's id beside
 * it. Each replica reads the stream with a non-blocking XREAD from the last id it has read, every `pollMs`, on the
 * store's command connection (so within its command timeout): from the stream's start when it begins, which is how a
 * late replica catches up on what the others have learned, bounded by the cap. Ids only grow, so each batch is
 * applied once; a replica skips its own (it applied them when it learned them). While Redis is away nothing is read
 * and publish rejects at once; reading resumes from the same id once it is back (what was trimmed meanwhile is lost).
 * On a cluster the stream is split into shards (store/redis-keys): a replica publishes to its own id's shard, so its
 * batches stay in order, and reads every shard (one XREAD each, as an XREAD may only name keys of one slot).
 */
import type { BudgetLabel, ServedHit } from '../cache/error-budget.js';
import type { Logger } from '../observe/logger.js';
import { StoreUnavailableError } from './redis-commands.js';
import type { RedisClient } from './redis-connect.js';
import { keyLayout, type KeyLayout } from './redis-keys.js';
import type { LabelBatch, LabelChannel } from './types.js';

/** The label stream on one node. */
export const labelStreamKey = (prefix: string) => keyLayout(prefix).labelStreams[0]!;

export interface RedisLabelsOptions {
  redis: RedisClient;
  prefix: string;
  /** where the label streams are @default one stream, labelStreamKey(prefix) */
  layout?: KeyLayout;
  replica: string;
  /** batches kept in the stream (about: MAXLEN ~) */
  maxLength: number;
  /** ms between reads of the stream */
  pollMs: number;
  ready: () => boolean;
  logger: Logger;
}

/** Batches read per XREAD; with more waiting, the next read comes at once. */
const READ_COUNT = 1000;

/** A batch read from the stream, if it has the shape this version writes. */
export function parseBatch(json: string): LabelBatch | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  const o = v as { labels?: unknown; served?: unknown; hits?: unknown } | null;
  if (!o || !Array.isArray(o.labels)) return undefined;
  const labels: BudgetLabel[] = [];
  for (const l of o.labels as Array<Partial<BudgetLabel> | null>) {
    if (!l || typeof l.entryId !== 'string' || typeof l.score !== 'number' || !Number.isFinite(l.score)) continue;
    const served = count(l.served);
    labels.push({ entryId: l.entryId, score: l.score, correct: l.correct === true, sampled: l.sampled === true, reported: l.reported === true, ...(served > 0 && { served }) });
  }
  const hits: ServedHit[] = [];
  for (const h of Array.isArray(o.hits) ? (o.hits as Array<Partial<ServedHit> | null>) : []) {
    if (h && typeof h.entryId === 'string' && typeof h.score === 'number' && Number.isFinite(h.score)) hits.push({ entryId: h.entryId, score: h.score });
  }
  return { labels, served: count(o.served), ...(hits.length > 0 && { hits }) };
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

export class RedisLabels implements LabelChannel {
  private readonly opts: RedisLabelsOptions;
  /** the stream this replica publishes to */
  private readonly key: string;
  /** every stream, read in turn */
  private readonly keys: readonly string[];
  /** the last id read, by stream */
  private readonly lastIds: string[];

  constructor(opts: RedisLabelsOptions) {
    this.opts = opts;
    const layout = opts.layout ?? keyLayout(opts.prefix);
    this.keys = layout.labelStreams;
    this.key = this.keys[layout.shardOfReplica(opts.replica)]!;
    this.lastIds = this.keys.map(() => '0-0');
  }

  async publish(batch: LabelBatch): Promise<void> {
    if (!this.opts.ready()) throw new StoreUnavailableError('redis is not connected');
    if (batch.labels.length === 0 && batch.served === 0 && !batch.hits?.length) return;
    await this.opts.redis.xadd(this.key, 'MAXLEN', '~', this.opts.maxLength, '*', 'r', this.opts.replica, 'b', JSON.stringify(batch));
  }

  follow(apply: (batch: LabelBatch) => void): () => void {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const next = (ms: number) => {
      if (stopped) return;
      timer = setTimeout(() => void tick(), ms);
      timer.unref();
    };
    const tick = async () => {
      let more = false;
      if (this.opts.ready()) {
        try {
          more = (await this.readShards(apply)).some((n) => n === READ_COUNT);
        } catch (err) {
          // Redis slow or gone: read again from the same id next time.
          this.opts.logger.debug({ err: String(err) }, 'could not read the error-budget labels from redis');
        }
      }
      next(more ? 0 : this.opts.pollMs);
    };
    next(0);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }

  /** One XREAD of every stream from its last id read; returns how many batches came in all (own included). */
  async readOnce(apply: (batch: LabelBatch) => void): Promise<number> {
    return (await this.readShards(apply)).reduce((a, b) => a + b, 0);
  }

  /** How many batches came from each stream. The reads go out together; a stream that fails throws after the others are applied. */
  private async readShards(apply: (batch: LabelBatch) => void): Promise<number[]> {
    const replies = await Promise.allSettled(this.keys.map((key, i) => this.opts.redis.xread('COUNT', READ_COUNT, 'STREAMS', key, this.lastIds[i]!)));
    const counts = replies.map((r, i) => (r.status === 'fulfilled' ? this.applyReply(i, r.value as StreamReply, apply) : 0));
    const failed = replies.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return counts;
  }

  private applyReply(shard: number, reply: StreamReply, apply: (batch: LabelBatch) => void): number {
    let n = 0;
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        n++;
        this.lastIds[shard] = id;
        const f = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
        if (f.get('r') === this.opts.replica) continue;
        const batch = parseBatch(f.get('b') ?? '');
        if (!batch) {
          this.opts.logger.debug({ id }, 'unreadable error-budget labels in redis; skipped');
          continue;
        }
        try {
          apply(batch);
        } catch (err) {
          this.opts.logger.warn({ err: String(err) }, "could not apply another replica's error-budget labels");
        }
      }
    }
    return n;
  }
}

type StreamReply = Array<[string, Array<[string, string[]]>]> | null;
