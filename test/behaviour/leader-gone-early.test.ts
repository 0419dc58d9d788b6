/**
 * A leader whose client leaves before its upstream call has started (during its semantic lookup, or while it waits
 * in the upstream queue) still makes that call for the joiners already waiting on its flight: they are answered by
 * it (MISS, coalesced), rather than each looking the request up again and going upstream on its own.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import OpenAI from 'openai';
import { GatedEmbedder } from '../helpers/gated-embedder.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { exchange } from '../helpers/raw-http.js';

const model = new GatedEmbedder();
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ 'upstream-concurrency': '1', 'upstream-queue': '4' }, { embedder: model });
});
afterAll(() => h?.close());

const HEADERS: Array<[string, string]> = [['authorization', 'Bearer sk-early'], ['content-type', 'application/json']];
const body = (q: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }] });

/** A leader over a raw socket, so that the test can make its client leave at a moment of its choosing. */
function leader(q: string): Socket {
  const { hostname, port } = new URL(h.reprise.url);
  const s = connect(Number(port), hostname);
  s.on('error', () => {});
  const b = body(q);
  s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-early\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`);
  return s;
}

describe('a leader whose client leaves before its upstream call', () => {
  it('during its semantic lookup: the joiner waiting on it is answered by its call', async () => {
    h.up.reset();
    const q = 'Left during the lookup?';
    const gate = model.hold(q);
    const l = leader(q);
    await gate.asked;
    const joiner = exchange(h.reprise.url, 'POST', '/v1/chat/completions', HEADERS, body(q));
    await vi.waitFor(() => expect(h.reprise.inFlight()).toBe(2));
    l.destroy();
    await vi.waitFor(() => expect(h.reprise.inFlight()).toBe(1));
    gate.release();
    const res = await joiner;
    expect(res.status).toBe(200);
    expect(res.header('x-cache-reason'), 'the joiner went its own way').toBe('coalesced');
    expect(h.up.count('/chat/completions')).toBe(1);
  });

  it('while it waits for an upstream slot: the joiner waiting on it is answered by its call', async () => {
    h.up.reset();
    let release!: () => void;
    h.up.next({ holdUntil: new Promise<void>((r) => (release = r)) });
    const c = new OpenAI({ apiKey: 'sk-early', baseURL: `${h.reprise.url}/v1`, maxRetries: 0 });
    const holder = (async () => {
      const s = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Holds the only slot.' }], stream: true });
      for await (const _ of s) void _;
    })();
    await vi.waitFor(() => expect(h.up.count('/chat/completions')).toBe(1));

    const q = 'Left while queued?';
    const l = leader(q);
    await vi.waitFor(() => expect(h.reprise.inFlight()).toBe(2));
    const joiner = exchange(h.reprise.url, 'POST', '/v1/chat/completions', HEADERS, body(q));
    await vi.waitFor(() => expect(h.reprise.inFlight()).toBe(3));
    l.destroy();
    await vi.waitFor(() => expect(h.reprise.inFlight()).toBe(2));
    release();
    await holder;
    const res = await joiner;
    expect(res.status).toBe(200);
    expect(res.header('x-cache-reason'), 'the joiner went its own way').toBe('coalesced');
    expect(h.up.count('/chat/completions')).toBe(2);
  });
});
