/**
 * The Worker's upstream (upstream/fetch.ts) keeps Node's upstream timeouts over a plain fetch: here Node's own
 * fetch against the real fake upstream, held before its head or between chunks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/openai/errors.js';
import { createFetchUpstream } from '../../src/upstream/fetch.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';

let up: FakeUpstream;
beforeAll(async () => {
  up = await startFakeUpstream();
});
afterAll(() => up.close());

const chat = (stream: boolean) => JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'hello there' }] });
const call = (fetchUpstream: ReturnType<typeof createFetchUpstream>, stream: boolean, signal = new AbortController().signal) =>
  fetchUpstream({ url: `${up.url}/chat/completions`, method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-x' }, body: chat(stream), signal });

describe('createFetchUpstream', () => {
  it('passes an answer through, head and body', async () => {
    const res = await call(createFetchUpstream(), false);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe('chat.completion');
  });

  it('gives up on a head that does not come in time, as a 504 upstream_timeout', async () => {
    up.next({ delayMs: 5_000 });
    const err = await call(createFetchUpstream({ timeoutMs: 100 }), false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ status: 504, code: 'upstream_timeout' });
  });

  it('fails a body that goes quiet for longer than the idle timeout, as a 504 upstream_idle_timeout', async () => {
    let release!: () => void;
    up.next({ holdUntil: new Promise<void>((r) => (release = r)) });
    const res = await call(createFetchUpstream({ idleTimeoutMs: 200 }), true);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    const err = await (async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) return undefined;
      }
    })().catch((e: unknown) => e);
    release();
    expect(err).toMatchObject({ status: 504, code: 'upstream_idle_timeout' });
  });

  it('aborts the call when the request signal aborts', async () => {
    up.next({ delayMs: 5_000 });
    const client = new AbortController();
    const pending = call(createFetchUpstream(), false, client.signal);
    setTimeout(() => client.abort(new Error('client left')), 50);
    await expect(pending).rejects.toThrow();
  });
});
