/** Exact and semantic hits, and the isolation the cache-key contract promises, through the real SDK. */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness, type Harness } from '../helpers/harness.js';

const h = useHarness();

describe('hits', () => {
  it('serves a repeated question from cache: miss, then exact hit, one upstream call', async () => {
    const c = h.client();
    const first = await chat(c, ask('What is the tallest mountain in Europe?'));
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const second = await chat(c, ask('What is the tallest mountain in Europe?'));
    expect(second.headers.get('x-cache-status')).toBe('HIT');
    expect(second.headers.get('x-cache-match')).toBe('exact');
    expect(second.headers.get('x-cache-similarity')).toBe('1.0000');
    expect(second.headers.get('x-cache-id')).toMatch(/^[0-9a-f]{64}\.[0-9a-f]{64}$/);
    expect(second.headers.get('age')).toBe('0');
    expect(second.data).toEqual(first.data);
    expect(h.up.count('/chat/completions')).toBe(1);
  });

  it('treats whitespace differences as the same question', async () => {
    const c = h.client();
    await chat(c, ask('How many legs does a spider have?'));
    const again = await chat(c, ask('  How many   legs does a spider have?\n'));
    expect(again.headers.get('x-cache-match')).toBe('exact');
    expect(h.up.count()).toBe(1);
  });

  it('serves a reworded question as a semantic hit', async () => {
    const c = h.client();
    const first = await chat(c, ask('How do I reset my password?'));
    const reworded = await chat(c, ask('How can I reset my password?'));
    expect(reworded.headers.get('x-cache-status')).toBe('HIT');
    expect(reworded.headers.get('x-cache-match')).toBe('semantic');
    const sim = Number(reworded.headers.get('x-cache-similarity'));
    expect(sim).toBeGreaterThan(0.9);
    expect(sim).toBeLessThan(1);
    expect(reworded.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
    expect(h.up.count()).toBe(1);
  });

  it('does not serve an unrelated question', async () => {
    const c = h.client();
    await chat(c, ask('How do I bake sourdough bread?'));
    const other = await chat(c, ask('What is the speed of light in a vacuum?'));
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    expect(h.up.count()).toBe(2);
  });

  it('Age counts seconds since the entry was stored', async () => {
    const c = h.client();
    await chat(c, ask('Name the largest ocean on Earth.'));
    h.clock.advance(42_000);
    const hit = await chat(c, ask('Name the largest ocean on Earth.'));
    expect(hit.headers.get('age')).toBe('42');
  });
});

describe('isolation: no hit across anything that can change the answer', () => {
  const q = 'Which planet is closest to the sun?';
  const variants: Array<[string, (c: ReturnType<Harness['client']>) => ReturnType<typeof chat>]> = [
    ['a different model', (c) => chat(c, { ...ask(q), model: 'gpt-4o' })],
    ['a different system prompt', (c) => chat(c, { messages: [{ role: 'system', content: 'Answer in French.' }, { role: 'user', content: q }] })],
    ['a different temperature', (c) => chat(c, ask(q, { temperature: 0.2 }))],
    ['a different max_tokens', (c) => chat(c, ask(q, { max_tokens: 5 }))],
    [
      'a different earlier turn',
      (c) =>
        chat(c, {
          messages: [
            { role: 'user', content: 'Let us talk about astronomy.' },
            { role: 'assistant', content: 'Sure.' },
            { role: 'user', content: q },
          ],
        }),
    ],
    ['a different API key', () => chat(h.client('sk-test-b'), ask(q))],
    ['a different namespace', (c) => chat(c, ask(q), { 'x-cache-namespace': 'other-app' })],
  ];

  for (const [name, send] of variants) {
    it(`misses for ${name}`, async () => {
      const c = h.client();
      await chat(c, ask(q));
      const r = await send(c);
      expect(r.headers.get('x-cache-status')).toBe('MISS');
      expect(h.up.count()).toBe(2);
      // and the variant itself is now cached in its own scope
      const again = await send(c);
      expect(again.headers.get('x-cache-status')).toBe('HIT');
      expect(h.up.count()).toBe(2);
      // clean slate for the next variant: a fresh question text per variant would be cleaner, but the
      // store is shared, so purge it.
      await h.reprise.store.purge({});
    });
  }
});
