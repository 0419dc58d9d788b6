/**
 * @module test/store/contract: the behaviour every Store must have (src/store/types.ts). Each store's test file
 * calls `storeContract(name, make)`; the suite uses only the Store interface, so memory and Redis run the same tests.
 *
 * A store may assign ids itself (Redis derives them from scope + textKey), so the suite never assumes the id it put:
 * it names entries by a label carried in their response (`labelOf`) and reads ids back from getExact or search.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { Entry, Store } from '../../src/store/types.js';

export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}

export type MakeStore = (clock: TestClock) => Promise<{ store: Store; close?: () => Promise<void> }>;

export interface ContractOptions {
  /**
   * The store's TTL runs on the wall clock (Redis expires keys itself; an injected clock cannot move it). The clock
   * given to `make` is then Date.now and cannot be advanced, and the TTL tests use ttls of 1-2 s and wait for them
   * to pass for real.
   * @default false
   */
  realTime?: boolean;
  /**
   * size() counts entries exactly, at once. A store that keeps nothing per entry in process (Redis with server-side
   * search) only knows a count as of its last sweep, and the suite does not check size() then.
   * @default true
   */
  exactSize?: boolean;
}

/** A realistic, non-zero start time: 2030-01-01T00:00:00Z. */
const START = Date.UTC(2030, 0, 1);
const DIM = 8;

/** A unit vector at `cos` to the first axis, in the plane of the first two axes (or `axis` for the sine part). */
function at(cos: number, axis = 1): Float32Array {
  const v = new Float32Array(DIM);
  v[0] = cos;
  v[axis] = Math.sqrt(1 - cos * cos);
  return v;
}
/** The query every search below uses: the first axis. */
const Q = at(1);

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

let seq = 0;
function entry(over: Partial<Entry> & { id: string }, now: number): Entry {
  const textKey = over.textKey ?? `text of ${over.id}`;
  return {
    scope: 'scope-a',
    textKey,
    text: textKey,
    response: { id: `chatcmpl-${++seq}`, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: `answer ${over.id}` } }] },
    endpoint: 'chat',
    model: 'gpt-4o-mini',
    tenant: 'tenant-1',
    namespace: 'default',
    createdAt: now,
    expiresAt: now + 3_600_000,
    ...over,
  };
}

/** The `id` the test gave an entry, read back from its response: the store may have assigned another id. */
function labelOf(en: Entry): string {
  const content = (en.response as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
  return content.slice('answer '.length);
}
const ids = (cands: Array<{ entry: Entry }>) => cands.map((c) => labelOf(c.entry));

/** Resolves at wall-clock time `t` (ms since epoch): real-time TTL tests wait for the TTL itself, nothing else. */
async function wallClockReaches(t: number): Promise<void> {
  while (Date.now() < t) await new Promise((r) => setTimeout(r, Math.max(1, t - Date.now())));
}

export function storeContract(name: string, make: MakeStore, opts: ContractOptions = {}): void {
  describe(`Store contract: ${name}`, () => {
    let clock: TestClock;
    let store: Store;
    let close: (() => Promise<void>) | undefined;
    /** an entry stamped with the clock's current time */
    const e = (over: Partial<Entry> & { id: string }) => entry(over, clock.now());
    /** the store's id for the entry at scope + textKey */
    const idOf = async (scope: string, textKey: string) => {
      const got = await store.getExact(scope, textKey);
      expect(got, `no entry at ${scope} / ${textKey}`).toBeDefined();
      return got!.id;
    };
    /** size() is `n`, for a store that counts exactly (ContractOptions.exactSize) */
    const expectSize = (n: number) => {
      if (opts.exactSize !== false) expect(store.size()).toBe(n);
    };
    const labelAt = async (scope: string, textKey: string) => {
      const got = await store.getExact(scope, textKey);
      return got && labelOf(got);
    };

    beforeEach(async () => {
      if (opts.realTime) {
        clock = {
          now: () => Date.now(),
          advance() {
            throw new Error('real-time store: the clock cannot be advanced');
          },
        };
      } else {
        let t = START;
        clock = {
          now: () => t,
          advance(ms: number) {
            t += ms;
          },
        };
      }
      ({ store, close } = await make(clock));
    });

    afterEach(async () => {
      await close?.();
    });

    describe('getExact', () => {
      it('returns an entry after put, with its fields intact', async () => {
        const stored = e({ id: 'e1', vector: at(0.6), text: 'How do I reset my password?', textKey: 'how do i reset my password?' });
        await store.put(stored, 60);
        const got = await store.getExact('scope-a', 'how do i reset my password?');
        expect(got).toBeDefined();
        expect(labelOf(got!)).toBe('e1');
        expect(typeof got!.id).toBe('string');
        expect(got!.id).not.toBe('');
        expect(got!.text).toBe('How do I reset my password?');
        expect(got!.response).toEqual(stored.response);
        expect({ ...got, id: undefined, vector: undefined }).toEqual({ ...stored, id: undefined, vector: undefined });
        expect(Array.from(got!.vector!)).toEqual(Array.from(stored.vector!));
      });

      it('gives each entry one id, the same in getExact and search, and distinct between entries', async () => {
        await store.put(e({ id: 'i1', textKey: 'i1', vector: at(0.9) }), 60);
        await store.put(e({ id: 'i2', textKey: 'i2', vector: at(0.5) }), 60);
        await store.put(e({ id: 'i3', scope: 'scope-b', textKey: 'i1', vector: at(0.9) }), 60);
        const [id1, id2, id3] = [await idOf('scope-a', 'i1'), await idOf('scope-a', 'i2'), await idOf('scope-b', 'i1')];
        expect(new Set([id1, id2, id3]).size).toBe(3);
        expect((await store.search('scope-a', Q, 5)).map((c) => c.entry.id)).toEqual([id1, id2]);
        expect((await store.search('scope-b', Q, 5)).map((c) => c.entry.id)).toEqual([id3]);
      });

      it('misses for another scope or another textKey', async () => {
        await store.put(e({ id: 'e1', scope: 'scope-a', textKey: 'k' }), 60);
        expect(await store.getExact('scope-b', 'k')).toBeUndefined();
        expect(await store.getExact('scope-a', 'k2')).toBeUndefined();
        expect(await store.getExact('scope-a', 'K')).toBeUndefined();
        // Concatenation of scope and text must not collide.
        expect(await store.getExact('scope-a:k', '')).toBeUndefined();
        expect(await store.getExact('scope-', 'a:k')).toBeUndefined();
      });

      it('keeps the same textKey apart in different scopes', async () => {
        await store.put(e({ id: 'in-a', scope: 'scope-a', textKey: 'same' }), 60);
        await store.put(e({ id: 'in-b', scope: 'scope-b', textKey: 'same' }), 60);
        expect(await labelAt('scope-a', 'same')).toBe('in-a');
        expect(await labelAt('scope-b', 'same')).toBe('in-b');
        expectSize(2);
      });
    });

    describe('search', () => {
      it('returns the nearest entries best first, with cosine scores', async () => {
        const cosines: Record<string, number> = { c95: 0.95, c10: 0.1, c80: 0.8, neg: -0.3, c50: 0.5 };
        let axis = 1;
        for (const [id, cos] of Object.entries(cosines)) await store.put(e({ id, vector: at(cos, axis++) }), 60);

        const top3 = await store.search('scope-a', Q, 3);
        expect(ids(top3)).toEqual(['c95', 'c80', 'c50']);
        for (const c of top3) expect(c.score).toBeCloseTo(cosines[labelOf(c.entry)]!, 5);

        const all = await store.search('scope-a', Q, 10);
        expect(ids(all)).toEqual(['c95', 'c80', 'c50', 'c10', 'neg']);
        for (const c of all) expect(c.score).toBeCloseTo(dot(Q, c.entry.vector!), 5);
        expect(all.at(-1)!.score).toBeCloseTo(-0.3, 5);
      });

      it('never returns more than k', async () => {
        for (let i = 0; i < 5; i++) await store.put(e({ id: `v${i}`, vector: at(0.9 - i * 0.1) }), 60);
        expect(await store.search('scope-a', Q, 1)).toHaveLength(1);
        expect(await store.search('scope-a', Q, 2)).toHaveLength(2);
        expect(await store.search('scope-a', Q, 0)).toHaveLength(0);
      });

      it('only sees entries of the asked scope', async () => {
        await store.put(e({ id: 'a-far', scope: 'scope-a', vector: at(0.2) }), 60);
        await store.put(e({ id: 'b-exact', scope: 'scope-b', vector: at(1) }), 60);
        await store.put(e({ id: 'b-near', scope: 'scope-b', vector: at(0.9) }), 60);

        const inA = await store.search('scope-a', Q, 5);
        expect(ids(inA)).toEqual(['a-far']);
        expect(inA[0]!.score).toBeCloseTo(0.2, 5);
        expect(ids(await store.search('scope-b', Q, 5))).toEqual(['b-exact', 'b-near']);
        expect(await store.search('scope-c', Q, 5)).toEqual([]);
      });

      it('treats entries without a vector as exact-only', async () => {
        await store.put(e({ id: 'plain', textKey: 'plain' }), 60);
        expect(await store.search('scope-a', Q, 5)).toEqual([]);

        await store.put(e({ id: 'vec', textKey: 'vec', vector: at(0.7) }), 60);
        expect(ids(await store.search('scope-a', Q, 5))).toEqual(['vec']);
        expect(await labelAt('scope-a', 'plain')).toBe('plain');
        expect((await store.getExact('scope-a', 'plain'))?.vector).toBeUndefined();
      });
    });

    if (!opts.realTime) describe('TTL (on the injected clock)', () => {
      it('keeps an entry until its ttl passes, then drops it from getExact and search', async () => {
        await store.put(e({ id: 'short', textKey: 'short', vector: at(0.9) }), 10);
        await store.put(e({ id: 'long', textKey: 'long', vector: at(0.5) }), 20);

        clock.advance(10_000 - 1);
        expect(await labelAt('scope-a', 'short')).toBe('short');
        expect(ids(await store.search('scope-a', Q, 5))).toEqual(['short', 'long']);

        clock.advance(2);
        expect(await store.getExact('scope-a', 'short')).toBeUndefined();
        expect(ids(await store.search('scope-a', Q, 5))).toEqual(['long']);
        expect(await labelAt('scope-a', 'long')).toBe('long');

        clock.advance(10_000);
        expect(await store.getExact('scope-a', 'long')).toBeUndefined();
        expect(await store.search('scope-a', Q, 5)).toEqual([]);
      });

      it('expires an entry that was never read before its ttl passed', async () => {
        await store.put(e({ id: 'x', textKey: 'x', vector: at(0.9) }), 5);
        clock.advance(5_001);
        expect(await store.search('scope-a', Q, 5)).toEqual([]);
        expect(await store.getExact('scope-a', 'x')).toBeUndefined();
      });

      it('does not extend the ttl on a hit', async () => {
        await store.put(e({ id: 'hit', textKey: 'hit', vector: at(0.9) }), 10);
        for (let i = 0; i < 3; i++) {
          clock.advance(3_000);
          expect(await labelAt('scope-a', 'hit')).toBe('hit');
          expect(ids(await store.search('scope-a', Q, 1))).toEqual(['hit']);
        }
        clock.advance(1_001); // 10.001 s after put, 1.001 s after the last hit
        expect(await store.getExact('scope-a', 'hit')).toBeUndefined();
        expect(await store.search('scope-a', Q, 1)).toEqual([]);
      });

      it('counts the ttl from the time of storing', async () => {
        clock.advance(60_000);
        await store.put(e({ id: 'late', textKey: 'late' }), 10);
        clock.advance(9_000);
        expect(await labelAt('scope-a', 'late')).toBe('late');
        clock.advance(1_001);
        expect(await store.getExact('scope-a', 'late')).toBeUndefined();
      });

      it('finds a live entry even when more than k nearer entries have expired', async () => {
        for (let i = 0; i < 5; i++) await store.put(e({ id: `stale${i}`, vector: at(0.99 - i * 0.01, i + 1) }), 1);
        await store.put(e({ id: 'live', vector: at(0.5, 7) }), 3_600);
        clock.advance(2_000);
        const found = await store.search('scope-a', Q, 1);
        expect(ids(found)).toEqual(['live']);
        expect(found[0]!.score).toBeCloseTo(0.5, 5);
      });
    });


    // The same behaviours on the wall clock, with ttls of 1-2 s. Each test waits for its ttl to pass for real and
    // then looks once, so "expired" means expired at once, not eventually.
    if (opts.realTime) describe('TTL (on the wall clock)', () => {
      it('keeps an entry until its ttl passes, then drops it from getExact and search', async () => {
        const t0 = Date.now();
        await store.put(e({ id: 'short', textKey: 'short', vector: at(0.9) }), 1);
        await store.put(e({ id: 'long', textKey: 'long', vector: at(0.5) }), 2);
        const t1 = Date.now();
        expect(t1 - t0, 'two puts should take far less than the 1 s ttl').toBeLessThan(500);
        expect(await labelAt('scope-a', 'short')).toBe('short');
        expect(ids(await store.search('scope-a', Q, 5))).toEqual(['short', 'long']);

        await wallClockReaches(t1 + 1_050);
        expect(await store.getExact('scope-a', 'short')).toBeUndefined();
        expect(ids(await store.search('scope-a', Q, 5))).toEqual(['long']);
        expect(await labelAt('scope-a', 'long')).toBe('long');

        await wallClockReaches(t1 + 2_050);
        expect(await store.getExact('scope-a', 'long')).toBeUndefined();
        expect(await store.search('scope-a', Q, 5)).toEqual([]);
      });

      it('expires an entry that was never read before its ttl passed', async () => {
        await store.put(e({ id: 'x', textKey: 'x', vector: at(0.9) }), 1);
        await wallClockReaches(Date.now() + 1_050);
        expect(await store.search('scope-a', Q, 5)).toEqual([]);
        expect(await store.getExact('scope-a', 'x')).toBeUndefined();
      });

      it('does not extend the ttl on a hit', async () => {
        await store.put(e({ id: 'hit', textKey: 'hit', vector: at(0.9) }), 1);
        const t0 = Date.now();
        for (const at_ of [200, 400, 600, 800]) {
          await wallClockReaches(t0 + at_);
          expect(await labelAt('scope-a', 'hit')).toBe('hit');
          expect(ids(await store.search('scope-a', Q, 1))).toEqual(['hit']);
        }
        await wallClockReaches(t0 + 1_050); // 1.05 s after put, 0.25 s after the last hit
        expect(await store.getExact('scope-a', 'hit')).toBeUndefined();
        expect(await store.search('scope-a', Q, 1)).toEqual([]);
      });

      it('counts the ttl from the time of storing', async () => {
        await wallClockReaches(Date.now() + 300); // not from the store's start
        await store.put(e({ id: 'late', textKey: 'late' }), 1);
        const t0 = Date.now();
        await wallClockReaches(t0 + 700);
        expect(await labelAt('scope-a', 'late')).toBe('late');
        await wallClockReaches(t0 + 1_050);
        expect(await store.getExact('scope-a', 'late')).toBeUndefined();
      });

      it('finds a live entry even when more than k nearer entries have expired', async () => {
        for (let i = 0; i < 5; i++) await store.put(e({ id: `stale${i}`, vector: at(0.99 - i * 0.01, i + 1) }), 1);
        await store.put(e({ id: 'live', vector: at(0.5, 7) }), 3_600);
        await wallClockReaches(Date.now() + 1_050);
        const found = await store.search('scope-a', Q, 1);
        expect(ids(found)).toEqual(['live']);
        expect(found[0]!.score).toBeCloseTo(0.5, 5);
      });

      it('put over an entry takes the new, longer ttl', async () => {
        await store.put(e({ id: 'old', textKey: 'q' }), 1);
        await store.put(e({ id: 'new', textKey: 'q' }), 2);
        const t0 = Date.now();
        await wallClockReaches(t0 + 1_200);
        expect(await labelAt('scope-a', 'q')).toBe('new');
        await wallClockReaches(t0 + 2_050);
        expect(await store.getExact('scope-a', 'q')).toBeUndefined();
      });

      it('put over an entry takes the new, shorter ttl', async () => {
        await store.put(e({ id: 'old', textKey: 'q', vector: at(0.9) }), 3_600);
        await store.put(e({ id: 'new', textKey: 'q', vector: at(0.8) }), 1);
        const t0 = Date.now();
        expect(await labelAt('scope-a', 'q')).toBe('new');
        await wallClockReaches(t0 + 1_050);
        expect(await store.getExact('scope-a', 'q')).toBeUndefined();
        expect(await store.search('scope-a', Q, 5)).toEqual([]);
      });
    });

    describe('put replaces by scope + textKey', () => {
      it('drops the old entry: its id, its vector and its place in size()', async () => {
        await store.put(e({ id: 'old', textKey: 'q', vector: at(0.9) }), 60);
        const oldId = await idOf('scope-a', 'q');
        await store.put(e({ id: 'new', textKey: 'q', vector: at(0.3) }), 60);

        expect(await labelAt('scope-a', 'q')).toBe('new');
        const found = await store.search('scope-a', Q, 5);
        expect(ids(found)).toEqual(['new']);
        expect(found[0]!.score).toBeCloseTo(0.3, 5);
        expectSize(1);
        // A store that derives ids from scope + textKey gives the new entry the old id; deleting that is not "old".
        if (oldId !== (await idOf('scope-a', 'q'))) {
          expect(await store.delete(oldId)).toBe(false);
          expect(await labelAt('scope-a', 'q')).toBe('new');
        }
      });

      if (!opts.realTime) it('takes the new ttl', async () => {
        await store.put(e({ id: 'old', textKey: 'q' }), 5);
        clock.advance(4_000);
        await store.put(e({ id: 'new', textKey: 'q' }), 10);
        clock.advance(5_000);
        expect(await labelAt('scope-a', 'q')).toBe('new');
        clock.advance(5_001);
        expect(await store.getExact('scope-a', 'q')).toBeUndefined();
      });

      it('does not replace entries of another scope', async () => {
        await store.put(e({ id: 'a', scope: 'scope-a', textKey: 'q', vector: at(0.9) }), 60);
        await store.put(e({ id: 'b', scope: 'scope-b', textKey: 'q', vector: at(0.9) }), 60);
        expect(await labelAt('scope-a', 'q')).toBe('a');
        expect(ids(await store.search('scope-a', Q, 5))).toEqual(['a']);
      });
    });

    describe('putOver', () => {
      it('puts over the very entry read before: with its vector it is found by search too', async () => {
        const first = e({ id: 'plain', textKey: 'q', createdAt: 1_000 });
        await store.put(first, 60);
        expect(await store.putOver({ ...first, vector: at(0.9) }, 60, 1_000)).toBe(true);
        expect(ids(await store.search('scope-a', Q, 5))).toEqual(['plain']);
        expectSize(1);
      });

      it('stores nothing over an entry that has gone, or been replaced by a newer one', async () => {
        const first = e({ id: 'gone', textKey: 'q', createdAt: 1_000 });
        await store.put(first, 60);
        await store.delete(await idOf('scope-a', 'q'));
        expect(await store.putOver({ ...first, vector: at(0.9) }, 60, 1_000)).toBe(false);
        expect(await store.getExact('scope-a', 'q')).toBeUndefined();
        expect(await store.search('scope-a', Q, 5)).toEqual([]);

        await store.put(e({ id: 'newer', textKey: 'q', createdAt: 2_000 }), 60);
        expect(await store.putOver({ ...first, vector: at(0.9) }, 60, 1_000)).toBe(false);
        expect(await labelAt('scope-a', 'q')).toBe('newer');
        expect(await store.search('scope-a', Q, 5)).toEqual([]);
      });
    });

    describe('delete', () => {
      it('removes the entry from getExact and search and returns true', async () => {
        await store.put(e({ id: 'd1', textKey: 'd1', vector: at(0.9) }), 60);
        await store.put(e({ id: 'd2', textKey: 'd2', vector: at(0.4) }), 60);
        const d1 = await idOf('scope-a', 'd1');

        expect(await store.delete(d1)).toBe(true);
        expect(await store.getExact('scope-a', 'd1')).toBeUndefined();
        expect(ids(await store.search('scope-a', Q, 5))).toEqual(['d2']);
        expectSize(1);

        expect(await store.delete(d1)).toBe(false);
        expectSize(1);
      });

      it('returns false for an unknown id and changes nothing', async () => {
        await store.put(e({ id: 'keep', textKey: 'keep', vector: at(0.9) }), 60);
        expect(await store.delete('no-such-id')).toBe(false);
        expect(await labelAt('scope-a', 'keep')).toBe('keep');
        expect(ids(await store.search('scope-a', Q, 5))).toEqual(['keep']);
        expectSize(1);
      });

      it('removes the last vector of a scope, and the scope can be filled again', async () => {
        await store.put(e({ id: 'only', textKey: 'only', vector: at(0.9) }), 60);
        expect(await store.delete(await idOf('scope-a', 'only'))).toBe(true);
        expect(await store.search('scope-a', Q, 5)).toEqual([]);
        await store.put(e({ id: 'again', textKey: 'again', vector: at(0.8) }), 60);
        expect(ids(await store.search('scope-a', Q, 5))).toEqual(['again']);
      });
    });

    describe('purge', () => {
      // tenant × namespace × model, two values each: 8 entries, one per combination.
      const combos: Array<{ id: string; tenant: string; namespace: string; model: string }> = [];
      for (const tenant of ['t1', 't2'])
        for (const namespace of ['n1', 'n2'])
          for (const model of ['m1', 'm2']) combos.push({ id: `${tenant}-${namespace}-${model}`, tenant, namespace, model });

      beforeEach(async () => {
        let axis = 1;
        for (const c of combos) await store.put(e({ ...c, textKey: c.id, vector: at(0.5, axis++ % DIM || 1) }), 60);
        expectSize(8);
      });

      const survivors = async () => {
        const out: string[] = [];
        for (const c of combos) if (await store.getExact('scope-a', c.id)) out.push(c.id);
        return out;
      };

      it.each([
        [{ tenant: 't1' }, (c: (typeof combos)[number]) => c.tenant === 't1'],
        [{ namespace: 'n2' }, (c: (typeof combos)[number]) => c.namespace === 'n2'],
        [{ model: 'm1' }, (c: (typeof combos)[number]) => c.model === 'm1'],
        [{ tenant: 't2', model: 'm2' }, (c: (typeof combos)[number]) => c.tenant === 't2' && c.model === 'm2'],
        [{ tenant: 't1', namespace: 'n1', model: 'm2' }, (c: (typeof combos)[number]) => c.id === 't1-n1-m2'],
      ])('purge(%o) removes exactly the matching entries', async (filter, matches) => {
        const doomed = combos.filter(matches).map((c) => c.id);
        expect(await store.purge(filter)).toBe(doomed.length);

        const kept = combos.filter((c) => !matches(c)).map((c) => c.id);
        expect(await survivors()).toEqual(kept);
        expectSize(kept.length);
        expect(ids(await store.search('scope-a', Q, 20)).sort()).toEqual([...kept].sort());
      });

      it('returns 0 and removes nothing when nothing matches', async () => {
        expect(await store.purge({ tenant: 't3' })).toBe(0);
        expect(await store.purge({ tenant: 't1', namespace: 'n3' })).toBe(0);
        expectSize(8);
        expect(await survivors()).toEqual(combos.map((c) => c.id));
      });

      it('purges across scopes', async () => {
        await store.put(e({ id: 'other-scope', scope: 'scope-b', textKey: 'o', tenant: 't1', namespace: 'n1', model: 'm1', vector: at(0.9) }), 60);
        expect(await store.purge({ tenant: 't1' })).toBe(5);
        expect(await store.getExact('scope-b', 'o')).toBeUndefined();
        expect(await store.search('scope-b', Q, 5)).toEqual([]);
      });
    });

    describe('size', () => {
      it('counts live entries through put, replace, delete and purge', async () => {
        expectSize(0);
        await store.put(e({ id: 's1', textKey: 'a' }), 60);
        await store.put(e({ id: 's2', textKey: 'b', vector: at(0.5) }), 60);
        await store.put(e({ id: 's3', textKey: 'c', scope: 'scope-b' }), 60);
        expectSize(3);
        await store.put(e({ id: 's4', textKey: 'a' }), 60);
        expectSize(3);
        await store.delete(await idOf('scope-a', 'b'));
        expectSize(2);
        await store.purge({ tenant: 'tenant-1' });
        expectSize(0);
      });
    });
  });
}
