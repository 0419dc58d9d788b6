/**
 * An answer a client reports as wrong (POST /v1/cache/feedback) while the backfill is embedding it is not brought back
 * by the backfill.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BatchingEmbedder } from '../../src/embed/batcher.js';
import { MemoEmbedder } from '../../src/embed/memo.js';
import { ask, chat, startHarness, type Harness } from '../helpers/harness.js';
import { GatedEmbedder } from '../helpers/gated-embedder.js';

const model = new GatedEmbedder();
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ 'embed-wait': '20' }, { embedder: new MemoEmbedder(new BatchingEmbedder(model, 4, 1)) });
});
afterAll(() => h?.close());

describe('feedback eviction during a backfill', () => {
  it('an entry evicted on feedback while the backfill embeds it is not served again', async () => {
    const stuck = 'a question whose embedding takes forever';
    const asked = 'how do i repot a cactus';
    const c = h.client();
    const gate = model.hold(stuck);
    const first = chat(c, ask(stuck));
    await gate.asked;
    const busy = await chat(c, ask(asked));
    expect(busy.headers.get('x-cache-reason')).toBe('embed-busy');
    const hit = await chat(c, ask(asked));
    expect(hit.headers.get('x-cache-match')).toBe('exact');
    const id = hit.headers.get('x-cache-id')!;
    expect(id).toBeTruthy();

    // The backfill will embed `asked` once the model is idle: hold that embedding.
    const fill = model.hold(asked);
    gate.release();
    await first;
    await fill.asked;
    // Meanwhile the client reports the answer as wrong: evicted.
    const fb = await fetch(`${h.reprise.url}/v1/cache/feedback`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-a', 'content-type': 'application/json' },
      body: JSON.stringify({ id, verdict: 'wrong' }),
    });
    expect(fb.status).toBe(200);
    fill.release();
    await vi.waitFor(() => {
      const b = h.reprise.metrics.snapshot().backfill;
      expect(b.done + b.skipped + b.failed).toBeGreaterThanOrEqual(1);
    });
    const later = await chat(c, ask(asked));
    expect(later.headers.get('x-cache-status'), `the reported answer came back: ${JSON.stringify(later.data.choices[0]?.message.content)}`).not.toBe('HIT');
    expect(h.up.count('/chat/completions')).toBe(3);
  });
});
