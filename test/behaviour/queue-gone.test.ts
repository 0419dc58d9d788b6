/**
 * A request whose client leaves while it waits in the upstream queue (--upstream-queue) gives its place up, so callers
 * still connected wait for a slot rather than being refused with 503 in its stead; and it never takes the slot for
 * nobody. On the Web front (@hono/node-server) the request's AbortSignal is made lazily, so the front reads it first
 * thing: without that a gone pass-through GET took the slot when its turn came and never gave it back.
 */
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Running } from '../../src/node/server.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { startFrontFor } from '../helpers/front.js';
import { bundledEmbedder } from '../helpers/harness.js';
import { exchange } from '../helpers/raw-http.js';

let up: FakeUpstream;
let r: Running;
beforeAll(async () => {
  up = await startFakeUpstream();
  r = await startFrontFor(up.url, { embedder: bundledEmbedder() }, { 'upstream-concurrency': '1', 'upstream-queue': '1' });
});
afterAll(async () => {
  await r?.close();
  await up?.close();
});
beforeEach(() => up.reset());

const body = (q: string, stream = false) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }], stream });
const AUTH: Array<[string, string]> = [['authorization', 'Bearer sk-q'], ['content-type', 'application/json']];

describe('a queued request whose client left', () => {
  const b = body('Queued, then abandoned.');
  it.each([
    ['a cached route', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-q\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`],
    ['a pass-through route', 'GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-q\r\n\r\n'],
  ])('on %s gives its place in the queue up, so the next caller waits instead of a 503', async (route, request) => {
    let release!: () => void;
    up.next({ holdUntil: new Promise<void>((res) => (release = res)) });
    const c = new OpenAI({ apiKey: 'sk-q', baseURL: `${r.url}/v1`, maxRetries: 0 });
    const first = (async () => {
      const s = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Held upstream, beside ${route}.` }], stream: true });
      for await (const _ of s) void _;
    })();
    await vi.waitFor(() => expect(up.count('/chat/completions')).toBe(1));

    // The second waits in the queue, then its client gives up.
    const { hostname, port } = new URL(r.url);
    const gone = connect(Number(port), hostname);
    gone.on('error', () => {});
    gone.write(request);
    await vi.waitFor(() => expect(r.metrics.snapshot().upstreamSlots.queued).toBe(1));
    gone.destroy();
    await vi.waitFor(() => expect(r.metrics.snapshot().upstreamSlots.queued).toBe(0));

    // A live caller now: the only queued one has gone, so it should be queued, not refused.
    const third = exchange(r.url, 'POST', '/v1/chat/completions', AUTH, body(`A live caller, beside ${route}.`));
    const settled = await Promise.race([third.then((x) => x.status), vi.waitFor(() => expect(r.metrics.snapshot().upstreamSlots.queued).toBe(1)).then(() => 'queued' as const)]);
    release();
    await first;
    const status = typeof settled === 'number' ? settled : (await third).status;
    expect(status, 'the live caller was refused because a gone client held the queue').toBe(200);
  }, 60_000);

  it('a gone pass-through GET never takes the slot for nobody', async () => {
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
    await vi.waitFor(() => expect(r.metrics.snapshot().upstreamSlots.queued).toBe(1));
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
