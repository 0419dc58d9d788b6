/**
 * Exact and semantic hits (through the real SDK), and the isolation the cache-key contract promises. The hit tests
 * that need an in-process part (the FakeClock, the metrics, a counting store) are in hits-in-process.test.ts.
 */
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

  it('line endings, blank lines before and whitespace after a question make no difference to its exact key', async () => {
    const c = h.client();
    await chat(c, ask('How many legs does a spider have?\nAnd an ant?'));
    const again = await chat(c, ask('\n\nHow many legs does a spider have?\r\nAnd an ant?  \n'));
    expect(again.headers.get('x-cache-match')).toBe('exact');
    expect(h.up.count()).toBe(1);
  });

  it('spacing inside a line is not an exact match (it can matter in code), but the semantic lookup still serves prose', async () => {
    const c = h.client();
    await chat(c, ask('How many legs does a spider have?'));
    const again = await chat(c, ask('  How many   legs does a spider have?'));
    expect(again.headers.get('x-cache-status')).toBe('HIT');
    expect(again.headers.get('x-cache-match')).toBe('semantic');
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

  it('misses for a different Azure api-key under the same Authorization', async () => {
    const c = h.client();
    await chat(c, ask(q));
    for (const [key, status] of [['key-1', 'MISS'], ['key-1', 'HIT'], ['key-2', 'MISS']] as const) {
      expect((await chat(c, ask(q), { 'api-key': key })).headers.get('x-cache-status'), key).toBe(status);
    }
    expect(h.up.count()).toBe(3);
  });

  it('misses for a reworded question from a different API key', async () => {
    await chat(h.client(), ask('How do I reset my password?'));
    const other = await chat(h.client('sk-test-b'), ask('How can I reset my password?'));
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    expect(h.up.count()).toBe(2);
  });

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
