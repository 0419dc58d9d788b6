/**
 * A leader whose client leaves before its upstream call has started (during its semantic lookup, or while it waits
 * in the upstream queue) still makes that call for the joiners already waiting on its flight: they are answered by
 * it (MISS, coalesced), rather than each looking the request up again and going upstream on its own. A joiner whose
 * own client leaves while it waits stops counting: with every client gone, no call is made for nobody. Each request
 * has its one log line (499 for a client gone).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import OpenAI from 'openai';
import { GatedEmbedder } from '../helpers/gated-embedder.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { silentLogger } from '../../src/observe/logger.js';
import { exchange } from '../helpers/raw-http.js';

const model = new GatedEmbedder();
/** the status of every request-log line, in order */
const logged: number[] = [];
const logger = { ...silentLogger, info: (o: Record<string, unknown>, msg?: string) => void (msg === 'request' && logged.push(o.status as number)) };
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ 'upstream-concurrency': '1', 'upstream-queue': '4' }, { embedder: model, logger });
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

/** A streaming request that holds the only upstream slot until `release()`; `holder` ends with its stream. */
async function holdTheSlot(q: string): Promise<{ release: () => void; holder: Promise<void> }> {
  let release!: () => void;
  h.up.next({ holdUntil: new Promise<void>((r) => (release = r)) });
  const c = new OpenAI({ apiKey: 'sk-early', baseURL: `${h.reprise.url}/v1`, maxRetries: 0 });
  const holder = (async () => {
    const s = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }], stream: true });
    for await (const _ of s) void _;
  })();
  await vi.waitFor(() => expect(h.up.count('/chat/completions')).toBe(1));
  return { release, holder };
}

/**
 * A leader for `q` held in its embedding, a joiner on its flight, then the leader's client leaves and the embedding
 * is let go; resolves with the joiner's response.
 */
async function joinThenLeaderLeavesInLookup(q: string) {
  const gate = model.hold(q);
  const l = leader(q);
  await gate.asked;
  const joiner = exchange(h.reprise.url, 'POST', '/v1/chat/completions', HEADERS, body(q));
  await vi.waitFor(() => expect(h.reprise.metrics.snapshot().flights.joinersWaiting).toBe(1));
  l.destroy();
  await vi.waitFor(() => expect(h.reprise.inFlight()).toBe(1));
  gate.release();
  return joiner;
}

describe('a leader whose client leaves before its upstream call', () => {
  it('during its semantic lookup: the joiner waiting on it is answered by its call', async () => {
    h.up.reset();
    const q = 'Left during the lookup?';
    const res = await joinThenLeaderLeavesInLookup(q);
    expect(res.status).toBe(200);
    expect(res.header('x-cache-reason'), 'the joiner went its own way').toBe('coalesced');
    expect(h.up.count('/chat/completions')).toBe(1);
  });

  it('while it waits for an upstream slot: the joiner waiting on it is answered by its call', async () => {
    h.up.reset();
    const { release, holder } = await holdTheSlot('Holds the only slot.');

    const q = 'Left while queued?';
    const l = leader(q);
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().upstreamSlots.queued).toBe(1));
    const joiner = exchange(h.reprise.url, 'POST', '/v1/chat/completions', HEADERS, body(q));
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().flights.joinersWaiting).toBe(1));
    l.destroy();
    await vi.waitFor(() => expect(h.reprise.inFlight()).toBe(2));
    release();
    await holder;
    const res = await joiner;
    expect(res.status).toBe(200);
    expect(res.header('x-cache-reason'), 'the joiner went its own way').toBe('coalesced');
    expect(h.up.count('/chat/completions')).toBe(2);
  });

  it('during its lookup, with its only joiner gone too: no upstream call, and both are logged 499', async () => {
    h.up.reset();
    logged.length = 0;
    const q = 'Both gone during the lookup?';
    const gate = model.hold(q);
    const l = leader(q);
    await gate.asked;
    const j = leader(q);
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().flights.joinersWaiting).toBe(1));
    l.destroy();
    j.destroy();
    await vi.waitFor(() => expect(h.reprise.inFlight()).toBe(0));
    gate.release();
    // Each request is logged once it has been let go; a call made for them would have gone out before that.
    await vi.waitFor(() => expect(logged).toEqual([499, 499]));
    expect(h.up.count('/chat/completions'), 'an upstream call was made with every client gone').toBe(0);
  });

  it('in the queue, with its joiner gone next: it gives its place up, no call is made for nobody', async () => {
    h.up.reset();
    logged.length = 0;
    const { release, holder } = await holdTheSlot('Holds the only slot, again.');

    const q = 'All gone while queued?';
    const l = leader(q);
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().upstreamSlots.queued).toBe(1));
    const j = leader(q);
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().flights.joinersWaiting).toBe(1));
    l.destroy();
    await vi.waitFor(() => expect(h.reprise.inFlight()).toBe(2));
    j.destroy();
    // Both let go while the slot is still held: neither waits for it any more (the holder was logged at its head).
    await vi.waitFor(() => expect(logged.filter((s) => s === 499)).toHaveLength(2));
    release();
    await holder;
    expect(h.up.count('/chat/completions'), 'a gone request took the slot and called upstream').toBe(1);
  });

  it('during its lookup, when the call it makes for its joiner fails before the head: it is logged 499, the joiner goes its own way', async () => {
    h.up.reset();
    logged.length = 0;
    h.up.next({ resetBeforeHead: true });
    const q = 'Logged when the shared call fails?';
    const joiner = await joinThenLeaderLeavesInLookup(q);
    // The shared call broke before its head: the joiner, who has had nothing yet, asks upstream itself.
    expect(joiner.status).toBe(200);
    await vi.waitFor(() => expect([...logged].sort()).toEqual([200, 499]));
    expect(h.up.count('/chat/completions')).toBe(2);
  });
});
