/**
 * A pass-through GET (no body) whose client leaves while it waits for an upstream slot gives the slot back when its
 * turn comes. On the Web front (@hono/node-server) the request's AbortSignal is made lazily, so the front reads it
 * first thing; without that the exchange never ended and, with --upstream-concurrency 1, forwarding stopped for good.
 */
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Running } from '../../src/node/server.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { startFrontFor } from '../helpers/front.js';
import { bundledEmbedder } from '../helpers/harness.js';
import { exchange } from '../helpers/raw-http.js';

let up: FakeUpstream;
let r: Running;
beforeAll(async () => {
  up = await startFakeUpstream();
  r = await startFrontFor(up.url, { embedder: bundledEmbedder() }, { 'upstream-concurrency': '1', 'upstream-queue': '10' });
});
afterAll(async () => {
  await r?.close();
  await up?.close();
});

describe('a queued GET whose client left', () => {
  it('does not keep the upstream slot when its turn comes', async () => {
    let release!: () => void;
    up.next({ holdUntil: new Promise<void>((res) => (release = res)) });
    const c = new OpenAI({ apiKey: 'sk-slot', baseURL: `${r.url}/v1`, maxRetries: 0 });
    const first = (async () => {
      const s = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Holds the only slot.' }], stream: true });
      for await (const _ of s) void _;
    })();
    await vi.waitFor(() => expect(up.count('/chat/completions')).toBe(1));

    const { hostname, port } = new URL(r.url);
    const gone = connect(Number(port), hostname);
    gone.on('error', () => {});
    gone.write('GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-slot\r\n\r\n');
    await vi.waitFor(() => expect(r.inFlight()).toBe(2));
    gone.destroy();
    await vi.waitFor(() => expect(r.inFlight()).toBe(1));
    release();
    await first;

    // The slot is free again, unless the gone GET took it and kept it.
    const third = exchange(r.url, 'POST', '/v1/chat/completions', [['authorization', 'Bearer sk-slot'], ['content-type', 'application/json']], JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'After the slot is free.' }] }));
    await vi.waitFor(() => expect(up.count('/chat/completions'), `the next call never got a slot (the gone GET reached upstream ${up.count('/models')} time(s))`).toBe(2), { timeout: 10_000 });
    expect((await third).status).toBe(200);
  }, 60_000);
});
