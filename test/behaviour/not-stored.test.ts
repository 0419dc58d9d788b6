/**
 * Nothing wrong is stored: errors, broken streams and aborted streams never become entries. The tests that read the
 * in-process not-stored counts, and the one whose client leaves while upstream is quiet, are in
 * not-stored-counted.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';
import { exchange } from '../helpers/raw-http.js';
import { SseParser } from '../../src/openai/sse-parse.js';
import { APIError } from 'openai';

const h = useHarness();

describe('upstream errors', () => {
  for (const status of [429, 500]) {
    it(`passes a ${status} through with its body and does not cache it`, async () => {
      h.up.next({ status });
      const err = await chat(h.client(), ask(`Question that fails with ${status}`)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(APIError);
      expect((err as APIError).status).toBe(status);
      expect((err as APIError).headers?.get('x-cache-status')).toBe('MISS');
      expect((err as APIError).error).toMatchObject({ message: expect.any(String) });
      if (status === 429) expect((err as APIError).headers?.get('retry-after')).toBe('1');
      const ok = await chat(h.client(), ask(`Question that fails with ${status}`));
      expect(ok.headers.get('x-cache-status')).toBe('MISS');
      expect(h.up.count()).toBe(2);
      expect(h.reprise.store.size()).toBe(1);
    });
  }
});

describe('broken and aborted streams', () => {
  it('a stream cut inside an event ends with an error event the client reads as its own, and is not cached', async () => {
    h.up.next({ breakMidEventAfter: 2 });
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Break in the middle of an event?' }], stream: true });
    const res = await exchange(h.reprise.url, 'POST', '/v1/chat/completions', [['authorization', 'Bearer sk-mid'], ['content-type', 'application/json']], body);
    const events = new SseParser().push(new TextEncoder().encode(res.text));
    const last = events.at(-1)!;
    expect(last.event, `the last event the client parses: ${JSON.stringify(last)}`).toBe('error');
    expect(JSON.parse(last.data)).toMatchObject({ error: { code: 'upstream_broken' } });
    // The half-written event was not glued onto it.
    expect(last.data.startsWith('{"error"')).toBe(true);
    expect(h.reprise.store.size()).toBe(0);
  });

  it('a finish_reason of content_filter is not cached', async () => {
    h.up.next({ finishReason: 'content_filter' });
    await chat(h.client(), ask('Something the filter stops'));
    expect(h.reprise.store.size()).toBe(0);
  });
});
