/**
 * A joiner is served its leader's hit only if the hit passes the joiner's own read controls (`X-Cache-Threshold`,
 * `Cache-Control: max-age`): the flight key, scope + text key, leaves them out.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../src/store/memory.js';
import type { Entry } from '../../src/store/types.js';
import { ask, chat, startHarness, type Harness } from '../helpers/harness.js';
import { at } from '../helpers/synthetic-embedder.js';
import { randomUnit, rng } from '../helpers/vectors.js';
import { GatedEmbedder } from '../helpers/gated-embedder.js';


/** The memory store, counting exact reads (to know a request has got as far as the single-flight). */
class CountingStore extends MemoryStore {
  exactReads = 0;
  override async getExact(scope: string, textKey: string): Promise<Entry | undefined> {
    const e = await super.getExact(scope, textKey);
    this.exactReads++;
    return e;
  }
}

const embedder = new GatedEmbedder();
let store: CountingStore;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({}, { embedder, store: (store = new CountingStore({ now: () => h.clock.now() })) });
});
afterAll(() => h?.close());
beforeEach(async () => {
  h.up.reset();
  await h.reprise.store.purge({});
});

/** Stores `stored`, then sends `asked` twice at once: the first (plain) leads, the second (with `headers`) joins. */
async function leaderAndJoiner(stored: string, asked: string, headers: Record<string, string>, beforeAsking = () => {}) {
  const r = rng(7);
  const anchor = randomUnit(48, r);
  embedder.known.set(stored, anchor);
  embedder.known.set(asked, at(anchor, 0.9, r));
  const c = h.client();
  const first = await chat(c, ask(stored));
  expect(first.headers.get('x-cache-status')).toBe('MISS');
  beforeAsking();

  const gate = embedder.hold(asked);
  const leader = chat(c, ask(asked));
  await gate.asked;
  const reads = store.exactReads;
  const joiner = chat(c, ask(asked), headers);
  await vi.waitFor(() => expect(store.exactReads).toBe(reads + 1));
  gate.release();
  return { leader: await leader, joiner: await joiner };
}

describe('a joiner\'s own read controls', () => {
  it('X-Cache-Threshold: a joiner that asks for 0.99 is not served its leader\'s 0.90 semantic hit', async () => {
    const { leader, joiner } = await leaderAndJoiner('how do i proof bread dough', 'how should i proof bread dough', { 'x-cache-threshold': '0.99' });
    expect(leader.headers.get('x-cache-match')).toBe('semantic');
    const served = joiner.headers.get('x-cache-status') === 'HIT' ? Number(joiner.headers.get('x-cache-similarity')) : 1;
    expect(served, `joiner got ${joiner.headers.get('x-cache-status')} ${joiner.headers.get('x-cache-match')} at ${joiner.headers.get('x-cache-similarity')}`).toBeGreaterThanOrEqual(0.99);
  });

  it('Cache-Control: max-age=10: a joiner is not served a 100 s old entry through its leader\'s hit', async () => {
    const { leader, joiner } = await leaderAndJoiner('what do bees eat in winter', 'what do honey bees eat in winter', { 'cache-control': 'max-age=10' }, () =>
      h.clock.advance(100_000),
    );
    expect(leader.headers.get('x-cache-status')).toBe('HIT');
    const age = joiner.headers.get('x-cache-status') === 'HIT' ? Number(joiner.headers.get('age')) : 0;
    expect(age, `joiner got ${joiner.headers.get('x-cache-status')} with Age ${joiner.headers.get('age')}`).toBeLessThanOrEqual(10);
  });
});
