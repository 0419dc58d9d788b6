/**
 * @module store/redis-keys: the names of the keys every replica shares besides the entries (the event stream, the
 * error-budget label stream, the stats), on one Redis node or spread over a Redis Cluster.
 *
 * On one node each is one key, as it always was. On a cluster one key would put every replica's traffic on one
 * slot, so one master: every put's event, and every replica's reads of every event (each carries a vector). So each
 * is split into `shards` keys, shard i tagged `{<tag i>}`, where tag i is chosen so that its slot lies in the i-th
 * 1/shards of the slot space: as a cluster gives each master a contiguous range of slots (redis-cli's default, and
 * what resharding keeps), the shards spread over the masters evenly. A scope's events go to the shard whose part
 * of the slot space holds the scope's own slot, so in a cluster laid out that way they sit on the master of the
 * scope's entries; a replica's labels and stats go to the shard of its id. Every replica reads every shard.
 * Entry keys are not here (redis-codec entryKey): each lives in its scope's own slot by its `{scope}` tag.
 */

/** Redis Cluster's slot count. */
const SLOTS = 16_384;

/** CRC16/XMODEM, as Redis Cluster hashes keys (cluster spec, "Key distribution model"). */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The cluster slot of `key`: of its hash tag when it has a non-empty `{…}`, else of the whole key. */
export function keySlot(key: string): number {
  let bytes = new TextEncoder().encode(key);
  const open = bytes.indexOf(0x7b); // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  return crc16(bytes) % SLOTS;
}

/** The shard of a string hashed into `shards` equal parts of the slot space. */
const shardOfSlot = (slot: number, shards: number) => Math.floor((slot * shards) / SLOTS);

/** A hash tag for shard i of n whose slot lies in the i-th part: the first of `s<i>.<j>`, j = 0, 1, …, that does. */
function shardTag(i: number, n: number): string {
  for (let j = 0; ; j++) {
    const tag = `s${i}.${j}`;
    if (shardOfSlot(keySlot(`{${tag}}`), n) === i) return tag;
  }
}

export interface KeyLayout {
  /** how many keys each shared stream or index is split into; 1 on a single node */
  readonly shards: number;
  /** the shard a scope's events go to */
  shardOfScope(scope: string): number;
  /** every event stream, by shard */
  readonly eventStreams: readonly string[];
  /** the shard a replica's labels and stats go to */
  shardOfReplica(replica: string): number;
  /** every error-budget label stream, by shard */
  readonly labelStreams: readonly string[];
  /** every stats index (the replicas that shared stats, scored by when their key expires), by shard */
  readonly statsIndexes: readonly string[];
  /** a replica's stats, in its shard's slot (so it and its index are written in one same-slot pipeline) */
  statsKey(replica: string): string;
}

/** Largest shard count accepted: each shard still has a range of 16 slots to find its tag in. */
export const MAX_SHARDS = 1_024;

/**
 * The layout under `prefix`.
 * @param shards split over a cluster into this many keys each; absent on a single node: one key each, named as
 *   they always were (`<prefix>:events`, `<prefix>:budget-labels`, `<prefix>:stats-index`, `<prefix>:stats:<id>`)
 */
export function keyLayout(prefix: string, shards?: number): KeyLayout {
  if (shards === undefined) {
    return {
      shards: 1,
      shardOfScope: () => 0,
      eventStreams: [`${prefix}:events`],
      shardOfReplica: () => 0,
      labelStreams: [`${prefix}:budget-labels`],
      statsIndexes: [`${prefix}:stats-index`],
      statsKey: (replica) => `${prefix}:stats:${replica}`,
    };
  }
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) throw new RangeError(`shards must be an integer from 1 to ${MAX_SHARDS}`);
  const tags = Array.from({ length: shards }, (_, i) => shardTag(i, shards));
  // The entry SCAN matches `<prefix>:{*}:*`; these all have a word between the prefix and the tag, so it never does.
  const shardOfReplica = (replica: string) => shardOfSlot(crc16(new TextEncoder().encode(replica)) % SLOTS, shards);
  return {
    shards,
    shardOfScope: (scope) => shardOfSlot(keySlot(`{${scope}}`), shards),
    eventStreams: tags.map((t) => `${prefix}:events:{${t}}`),
    shardOfReplica,
    labelStreams: tags.map((t) => `${prefix}:budget-labels:{${t}}`),
    statsIndexes: tags.map((t) => `${prefix}:stats-index:{${t}}`),
    statsKey: (replica) => `${prefix}:stats:{${tags[shardOfReplica(replica)]}}:${replica}`,
  };
}
