/**
 * The embedder is never the bottleneck: a request whose embedding cannot start within --embed-wait skips the
 * semantic lookup and goes upstream at once (BYPASS, embed-busy); its answer is stored exact-only, and embedded later
 * when the model is idle, so that it serves semantic hits too.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BatchingEmbedder } from '../../src/embed/batcher.js';
import { MemoEmbedder } from '../../src/embed/memo.js';
import { ask, chat, startHarness, type Harness } from '../helpers/harness.js';
import { at } from '../helpers/synthetic-embedder.js';
import { randomUnit, rng } from '../helpers/vectors.js';
import { GatedEmbedder } from '../helpers/gated-embedder.js';


const model = new GatedEmbedder();
let h: Harness;
beforeAll(async () => {
  // As production wraps a model: the memo over the batcher, one model call at a time.
  h = await startHarness({ 'embed-wait': '20' }, { embedder: new MemoEmbedder(new BatchingEmbedder(model, 4, 1)) });
});
afterAll(() => h?.close());

describe('--embed-wait', () => {
  it('a request that cannot be embedded in time goes upstream at once, is stored exact-only, then embedded when idle', async () => {
    const r = rng(11);
    const stuck = 'a question whose embedding takes forever';
    const asked = 'how do i repot a cactus';
    const reworded = 'how should i repot my cactus';
    const anchor = randomUnit(48, r);
    model.known.set(asked, anchor);
    model.known.set(reworded, at(anchor, 0.97, r));
    const c = h.client();

    const gate = model.hold(stuck);
    const first = chat(c, ask(stuck));
    await gate.asked;

    // The model is busy with `stuck`: this one cannot start within 20 ms.
    const busy = await chat(c, ask(asked));
    expect(busy.headers.get('x-cache-status')).toBe('BYPASS');
    expect(busy.headers.get('x-cache-reason')).toBe('embed-busy');
    expect(h.reprise.metrics.snapshot().embedBusy).toBe(1);
    // Stored exact-only: the same question hits at once, without any embedding.
    const exact = await chat(c, ask(asked));
    expect(exact.headers.get('x-cache-match')).toBe('exact');
    expect(h.reprise.metrics.snapshot().backfill).toMatchObject({ queued: 1, done: 0, backlog: 1 });

    gate.release();
    expect((await first).status).toBe(200);
    // Now idle: the entry gets its vector, and serves a reworded question.
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().backfill).toMatchObject({ done: 1, backlog: 0 }), { timeout: 10_000 });
    const semantic = await chat(c, ask(reworded));
    expect(semantic.headers.get('x-cache-match')).toBe('semantic');
    expect(semantic.data).toEqual(busy.data);
    expect(h.up.count('/chat/completions')).toBe(2);
  });
});
