/** store/redis-keys: one node keeps the key names it always had; a cluster's shards each sit in their own part of the slot space. */
import { describe, expect, it } from 'vitest';
import { keyLayout, keySlot } from '../../src/store/redis-keys.js';

describe('keyLayout', () => {
  it('on one node: one key each, named as before', () => {
    const k = keyLayout('p');
    expect(k.shards).toBe(1);
    expect(k.eventStreams).toEqual(['p:events']);
    expect(k.labelStreams).toEqual(['p:budget-labels']);
    expect(k.statsIndexes).toEqual(['p:stats-index']);
    expect(k.statsKey('r1')).toBe('p:stats:r1');
    expect(k.shardOfScope('any')).toBe(0);
  });

  it('computes slots as Redis Cluster does (values from CLUSTER KEYSLOT)', () => {
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('a{}b')).toBe(keySlot('a{}b')); // an empty tag hashes the whole key
  });

  it.each([1, 3, 16, 100])('on a cluster of %i shards: shard i in the i-th part of the slots, a scope in the shard of its slot, never matched by the entry SCAN', (n) => {
    const k = keyLayout('p', n);
    const part = 16_384 / n;
    for (const keys of [k.eventStreams, k.labelStreams, k.statsIndexes]) {
      expect(keys).toHaveLength(n);
      keys.forEach((key, i) => expect(Math.floor(keySlot(key) / part)).toBe(i));
    }
    for (const scope of ['s1', 'scope-abc', 'x'.repeat(64)]) expect(Math.floor(keySlot(`p:{${scope}}:t`) / part)).toBe(k.shardOfScope(scope));
    // a replica's stats key is in its index shard's slot, so both are written in one same-slot pipeline
    for (const r of ['r1', 'host-2', 'replica-c']) expect(keySlot(k.statsKey(r))).toBe(keySlot(k.statsIndexes[k.shardOfReplica(r)]!));
    const entryScan = /^p:\{.*\}:.*$/;
    for (const key of [...k.eventStreams, ...k.labelStreams, ...k.statsIndexes, k.statsKey('r')]) expect(entryScan.test(key), key).toBe(false);
  });

  it('rejects a shard count it cannot place', () => {
    expect(() => keyLayout('p', 0)).toThrow(RangeError);
    expect(() => keyLayout('p', 1025)).toThrow(RangeError);
  });
});
