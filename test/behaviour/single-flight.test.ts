/**
 * Concurrent identical misses share one upstream call. The tests that count the shared answers in-process, or need
 * an upstream error shared by the joiners (the Worker's joiners share only a stored answer), are in
 * single-flight-shared.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness();

/** Busy loops in other processes, one per core: the machine is loaded while the block's tests run. */
function useBusyLoops(n = 2): void {
  const loops: ChildProcess[] = [];
  beforeAll(() => {
    for (let i = 0; i < n; i++) loops.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  });
  afterAll(() => {
    for (const l of loops) l.kill('SIGKILL');
  });
}

describe('single-flight', () => {
  it('20 concurrent identical streaming requests reach upstream once and each gets the whole stream', async () => {
    h.up.defaults = { delayMs: 100, chunkDelayMs: 5 };
    const c = h.client();
    const run = async () => {
      const stream = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Describe the water cycle.' }], stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return text;
    };
    const texts = await Promise.all(Array.from({ length: 20 }, run));
    expect(h.up.count('/chat/completions')).toBe(1);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toMatch(/^Answer #\d+ to: Describe the water cycle\.$/);
  });

  it('a JSON request that arrives while the same question streams waits for it instead of calling upstream', async () => {
    h.up.defaults = { delayMs: 200 };
    const c = h.client();
    const streamed = c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Who wrote Hamlet?' }], stream: true });
    await vi.waitFor(() => expect(h.up.count()).toBe(1));
    const json = await chat(c, ask('Who wrote Hamlet?'));
    for await (const _ of await streamed);
    expect(h.up.count()).toBe(1);
    expect(json.headers.get('x-cache-status')).toBe('HIT');
  });

});

describe('single-flight under CPU load (two busy loops beside the suite)', () => {
  useBusyLoops(2);

  // Each request would otherwise embed and search before it could join the in-flight call, and late ones found the
  // leader's fresh entry by vector search: a byte-identical question answered as a "semantic" hit.
  it.each([
    ['JSON', false],
    ['streaming', true],
  ])('20 concurrent identical %s requests, 5 rounds: one upstream call each, every answer exact or coalesced', async (_name, stream) => {
    const c = h.client();
    for (let round = 0; round < 5; round++) {
      h.up.reset();
      const q = `Round ${round}${stream ? ' (streamed)' : ''}: what is the tallest mountain in Africa?`;
      const one = async () => {
        const res = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }], stream }).asResponse();
        await res.text();
        return { status: res.headers.get('x-cache-status'), reason: res.headers.get('x-cache-reason'), match: res.headers.get('x-cache-match') };
      };
      const answers = await Promise.all(Array.from({ length: 20 }, one));
      expect(h.up.count('/chat/completions')).toBe(1);
      const kinds = answers.map((a) => (a.status === 'HIT' ? `HIT ${a.match}` : a.reason ? `${a.status} ${a.reason}` : a.status));
      for (const k of kinds) expect(['MISS', 'MISS coalesced', 'HIT exact']).toContain(k);
      expect(kinds.filter((k) => k === 'MISS')).toHaveLength(1);
    }
  });
});
