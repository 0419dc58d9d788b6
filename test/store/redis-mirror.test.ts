/**
 * @module test/store/redis-mirror: RedisMirror on its own, on a real redis-server: no RedisStore anywhere. Entries
 * and events are written by a plain client in the codec's format, so the mirror is shown to depend on nothing but
 * what is in Redis.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { silentLogger } from '../../src/observe/logger.js';
import { encodeEntry, encodeEvent, entryKey, eventStreamKey, type EventEntry, type StoreEvent } from '../../src/store/redis-codec.js';
import { RedisMirror } from '../../src/store/redis-mirror.js';
import { entryId, type Entry } from '../../src/store/types.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { axis } from '../helpers/vectors.js';

const DIM = 4;
const START = Date.UTC(2030, 0, 1);

let redis: RedisServer;
let raw: Redis;
beforeAll(async () => {
  redis = await startRedis();
  raw = redis.client();
});
afterAll(async () => {
  await redis?.stop();
});

let prefixes = 0;
const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/** A mirror on the test's Redis with a clock the test moves; it is connected but not yet told so. */
function newMirror(): { mirror: RedisMirror; prefix: string; clock: { t: number } } {
  const prefix = `rm${process.pid}-${++prefixes}`;
  const clock = { t: START };
  const [commands, events] = [redis.client(), redis.client()];
  const mirror = new RedisMirror({ redis: commands, events, prefix, now: () => clock.t, logger: silentLogger });
  stops.push(() => {
    mirror.stop();
    commands.disconnect();
    events.disconnect();
  });
  return { mirror, prefix, clock };
}

function meta(n: number, over: Partial<EventEntry> = {}): EventEntry {
  const scope = 'scope-a';
  const textKey = `question ${n}`;
  return { id: entryId(scope, textKey), scope, textKey, tenant: 'tenant-1', namespace: 'default', model: 'gpt-4o-mini', vector: axis(n % DIM, DIM), ...over };
}

/** XADD the event as a store would, then read it back as Redis returns it: the fields applyEvent() is given. */
async function roundTrip(prefix: string, ev: StoreEvent): Promise<Buffer[]> {
  const key = eventStreamKey(prefix);
  const id = (await raw.xadd(key, '*', ...encodeEvent(ev)))!;
  const [[, fields]] = (await raw.xrangeBuffer(key, id, id)) as Array<[Buffer, Buffer[]]>;
  return fields!;
}

const ids = (m: RedisMirror, n: number) => m.search('scope-a', axis(n % DIM, DIM), 4).map((x) => x.id);

describe('RedisMirror', () => {
  it('applies put, del and purge events as the codec writes them, and ignores an unknown op', async () => {
    const { mirror, prefix } = newMirror();
    const [a, b, c] = [meta(1), meta(2, { tenant: 'other' }), meta(3, { vector: undefined })];
    for (const e of [a, b, c]) mirror.applyEvent(await roundTrip(prefix, { op: 'put', entry: e, ttlMs: 60_000 }));
    expect(mirror.size).toBe(3); // an exact-only entry counts, though it has no vector to search
    expect(mirror.search('scope-a', axis(1, DIM), 1)).toEqual([{ id: a.id, scope: a.scope, textKey: a.textKey, score: 1 }]);
    expect(ids(mirror, 2)[0]).toBe(b.id);

    mirror.applyEvent(await roundTrip(prefix, { op: 'purge', filter: { tenant: 'other' } }));
    expect(mirror.size).toBe(2);
    expect(ids(mirror, 2)).not.toContain(b.id);

    mirror.applyEvent(await roundTrip(prefix, { op: 'del', id: a.id }));
    expect(ids(mirror, 1)).toEqual([]);
    expect(mirror.size).toBe(1);

    mirror.applyEvent([Buffer.from('op'), Buffer.from('compact')]);
    expect(mirror.size).toBe(1);
    mirror.applyEvent(await roundTrip(prefix, { op: 'purge', filter: {} })); // no field given: everything goes
    expect(mirror.size).toBe(0);
  });

  it('offers only entries whose TTL has not run out on its clock', async () => {
    const { mirror, prefix, clock } = newMirror();
    const e = meta(1);
    mirror.applyEvent(await roundTrip(prefix, { op: 'put', entry: e, ttlMs: 1_000 }));
    clock.t += 999;
    expect(ids(mirror, 1)).toEqual([e.id]);
    clock.t += 1;
    expect(ids(mirror, 1)).toEqual([]);
  });

  it('loads what is already in Redis when connected, then follows the stream', async () => {
    const { mirror, prefix } = newMirror();
    const before = meta(1);
    const key = entryKey(prefix, before.scope, before.textKey);
    const full: Entry = { ...before, text: before.textKey, response: {}, endpoint: 'chat', createdAt: START, expiresAt: START + 60_000 };
    await raw.pipeline().hset(key, encodeEntry(full)).pexpire(key, 60_000).exec();

    let synced = false;
    void mirror.synced().then(() => (synced = true));
    await Promise.resolve();
    expect(synced).toBe(false);
    mirror.onConnected();
    await mirror.synced();
    expect(mirror.size).toBe(1);
    expect(ids(mirror, 1)).toEqual([before.id]);

    const after = meta(2);
    await raw.xadd(eventStreamKey(prefix), '*', ...encodeEvent({ op: 'put', entry: after, ttlMs: 60_000 }));
    await vi.waitFor(() => expect(ids(mirror, 2)[0]).toBe(after.id), { interval: 5, timeout: 2_000 });
    await raw.xadd(eventStreamKey(prefix), '*', ...encodeEvent({ op: 'del', id: before.id }));
    await vi.waitFor(() => expect(mirror.size).toBe(1), { interval: 5, timeout: 2_000 });
    expect(ids(mirror, 1)).toEqual([after.id]);
  });
});
