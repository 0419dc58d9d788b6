/** One size limit for what is stored (--max-entry-bytes), JSON or stream; the memory store counts its bytes too. */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness({ 'max-entry-bytes': '2kb' });

describe('--max-entry-bytes', () => {
  it.each([
    ['a JSON answer', false],
    ['a streamed answer', true],
  ])('%s over the limit is passed on whole and not stored; one under it is stored', async (_name, stream) => {
    const c = h.client();
    const big = 'y'.repeat(3000);
    h.up.next({ content: big });
    const before = h.reprise.metrics.snapshot().notStored['too-large'] ?? 0;
    const q = `Give me a long answer (${stream ? 'stream' : 'json'})`;
    if (stream) {
      const s = await c.chat.completions.create({ model: 'gpt-4o-mini', ...ask(q), stream: true });
      let text = '';
      for await (const ch of s) text += ch.choices[0]?.delta.content ?? '';
      expect(text).toBe(big);
    } else {
      expect((await chat(c, ask(q))).data.choices[0]!.message.content).toBe(big);
    }
    expect(h.reprise.store.size()).toBe(0);
    expect(h.reprise.metrics.snapshot().notStored['too-large']).toBe(before + 1);
    h.up.next({ content: big });
    const again = await chat(c, ask(q));
    expect(again.headers.get('x-cache-status')).toBe('MISS');

    await chat(c, ask(`A short one (${stream})`));
    expect(h.reprise.store.size()).toBe(1);
  });

  it('/stats reports the bytes the memory store holds', async () => {
    await chat(h.client(), ask('How big is this entry?'));
    const stats = (await (await fetch(`${h.reprise.url}/stats`)).json()) as { entries: number; bytes: number };
    expect(stats.entries).toBe(1);
    expect(stats.bytes).toBeGreaterThan(500);
    expect(stats.bytes).toBeLessThan(10_000);
  });
});
