/**
 * The backfill reads the entry again after its embedding, and gives the vector only to the same entry: one evicted
 * (feedback, purge, admin delete), replaced (a no-cache refresh) or expired while it was embedded stays as it became.
 */
import { describe, expect, it, vi } from 'vitest';
import { Backfill } from '../../src/cache/backfill.js';
import { Metrics } from '../../src/observe/metrics.js';
import { silentLogger } from '../../src/observe/logger.js';
import { MemoryStore } from '../../src/store/memory.js';
import { entryId, type Entry } from '../../src/store/types.js';
import { GatedEmbedder } from '../helpers/gated-embedder.js';

const TEXT = 'how do i repot a cactus';

function entryAt(t: number, answer: string, ttlS: number): Entry {
  return {
    id: entryId('scope-1', 'tk-1'),
    scope: 'scope-1',
    textKey: 'tk-1',
    text: TEXT,
    response: { choices: [{ message: { role: 'assistant', content: answer } }] },
    endpoint: 'chat',
    model: 'gpt-4o-mini',
    tenant: 'alice',
    namespace: '',
    createdAt: t,
    expiresAt: t + ttlS * 1000,
  };
}

function setup() {
  let t = Date.UTC(2026, 0, 1);
  const now = () => t;
  const store = new MemoryStore({ now });
  const metrics = new Metrics();
  const backfill = new Backfill({ store, metrics, logger: silentLogger, now });
  const model = new GatedEmbedder();
  return { store, metrics, backfill, model, now, advance: (ms: number) => (t += ms) };
}

describe('a backfill after the entry changed during its embedding', () => {
  it('an entry evicted (feedback / purge / admin delete) while it is being embedded is not brought back', async () => {
    const { store, metrics, backfill, model, now } = setup();
    const e = entryAt(now(), 'a wrong answer a client reported', 3600);
    await store.put(e, 3600);
    const gate = model.hold(TEXT);
    backfill.add(e, model, TEXT);
    await gate.asked;
    // The client reports the hit as wrong: feedback evicts it.
    expect(await store.delete(e.id)).toBe(true);
    expect(await store.getExact(e.scope, e.textKey)).toBeUndefined();
    gate.release();
    await vi.waitFor(() => expect(metrics.snapshot().backfill.done + metrics.snapshot().backfill.skipped).toBe(1));
    expect(await store.getExact(e.scope, e.textKey), 'the evicted entry was resurrected by the backfill').toBeUndefined();
  });

  it('an entry evicted between the backfill\'s last read and its write is not brought back either', async () => {
    const { store, metrics, now } = setup();
    const e = entryAt(now(), 'a wrong answer a client reported', 3600);
    await store.put(e, 3600);
    // The real store, with one eviction landing just after the backfill's second read (another request's feedback
    // handled in that moment): only a write that checks again as it writes keeps it evicted.
    let reads = 0;
    const racing = Object.assign(Object.create(store) as MemoryStore, {
      getExact: async (scope: string, textKey: string) => {
        const got = await store.getExact(scope, textKey);
        if (++reads === 2) await store.delete(e.id);
        return got;
      },
    });
    const backfill = new Backfill({ store: racing, metrics, logger: silentLogger, now });
    const model = new GatedEmbedder();
    backfill.add(e, model, TEXT);
    await vi.waitFor(() => expect(metrics.snapshot().backfill.done + metrics.snapshot().backfill.skipped).toBe(1));
    expect(reads).toBe(2);
    expect(metrics.snapshot().backfill.skipped).toBe(1);
    expect(await store.getExact(e.scope, e.textKey), 'the evicted entry was resurrected by the backfill').toBeUndefined();
  });

  it('an entry replaced (a no-cache refresh) while it is being embedded keeps the new answer', async () => {
    const { store, metrics, backfill, model, now, advance } = setup();
    const old = entryAt(now(), 'the stale answer', 3600);
    await store.put(old, 3600);
    const gate = model.hold(TEXT);
    backfill.add(old, model, TEXT);
    await gate.asked;
    advance(1000);
    const fresh = entryAt(now(), 'the refreshed answer', 3600);
    await store.put(fresh, 3600);
    gate.release();
    await vi.waitFor(() => expect(metrics.snapshot().backfill.done + metrics.snapshot().backfill.skipped).toBe(1));
    const served = await store.getExact(old.scope, old.textKey);
    expect(served?.response, 'the refresh was overwritten with the stale answer').toEqual(fresh.response);
  });

  it('an entry whose TTL ran out while it was being embedded stays expired', async () => {
    const { store, metrics, backfill, model, now, advance } = setup();
    const e = entryAt(now(), 'short-lived answer', 2);
    await store.put(e, 2);
    advance(500);
    const gate = model.hold(TEXT);
    backfill.add(e, model, TEXT);
    await gate.asked;
    advance(5_000); // well past expiresAt
    expect(await store.getExact(e.scope, e.textKey)).toBeUndefined();
    gate.release();
    await vi.waitFor(() => expect(metrics.snapshot().backfill.done + metrics.snapshot().backfill.skipped).toBe(1));
    expect(await store.getExact(e.scope, e.textKey), 'an expired entry came back after its TTL').toBeUndefined();
  });
});
