/**
 * A client that goes away: before its request is answered (while it is looked up, or while upstream thinks) or in the
 * middle of a stream. Nothing is left going upstream for nobody, and nobody after it waits on what it left behind.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Embedder } from '../../src/embed/types.js';
import { bundledEmbedder, startHarness, useHarness, type Harness } from '../helpers/harness.js';
import { exchange } from '../helpers/raw-http.js';

describe('a client that goes away while its request is looked up', () => {
  let h: Harness;
  /** resolves when the first embedding has been asked for */
  let embedding!: Promise<void>;
  /** lets the first embedding finish */
  let release!: () => void;

  beforeAll(async () => {
    const inner = await bundledEmbedder();
    let asked!: () => void;
    embedding = new Promise<void>((r) => (asked = r));
    const held = new Promise<void>((r) => (release = r));
    let first = true;
    // The bundled model, but its first embedding waits until the test lets it go: the client leaves meanwhile.
    const gated: Embedder = {
      id: inner.id,
      dim: inner.dim,
      defaultThreshold: inner.defaultThreshold,
      async embed(texts) {
        if (first) {
          first = false;
          asked();
          await held;
        }
        return inner.embed(texts);
      },
    };
    h = await startHarness({}, { embedder: gated });
  });
  afterAll(() => h?.close());

  it('is not sent upstream, and an identical request after it is answered normally', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Name three rivers in Poland, slowly.' }], stream: true });
    const { hostname, port } = new URL(h.reprise.url);
    const socket = connect(Number(port), hostname);
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-test-a\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await embedding;
    // The client hangs up. Reprise closing its side in turn (node:http does, on the client's FIN) is what the
    // client's socket closing waits for, so once it has closed, Reprise knows the client is gone.
    socket.end();
    await closed;
    release();
    // The lookup ends in a miss, counted as it is decided; what the front then does with it is the point.
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().requests.MISS).toBe(1));
    expect(h.up.count()).toBe(0);

    // Had the first gone upstream, it would lead the key's single-flight and this one would be a share of it.
    const again = await exchange(h.reprise.url, 'POST', '/v1/chat/completions', [['Authorization', 'Bearer sk-test-a'], ['Content-Type', 'application/json']], body);
    expect(again.statusLine).toBe('HTTP/1.1 200 OK');
    expect(again.header('x-cache-status')).toBe('MISS');
    expect(again.header('x-cache-reason')).toBeUndefined();
    expect(again.text).toMatch(/data: \[DONE\]\n\n$/);
    expect(h.up.count()).toBe(1);
    expect(h.up.aborted).toBe(0);
  });
});

describe('a client that goes away before its answer is complete', () => {
  const h = useHarness({ cache: 'false' });

  it('cache off: a client that disconnects mid-stream aborts the upstream call', async () => {
    let release!: () => void;
    h.up.next({ holdUntil: new Promise<void>((r) => (release = r)) });
    const controller = new AbortController();
    const stream = await h.client().chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Count slowly to fifty.' }], stream: true },
      { signal: controller.signal },
    );
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    controller.abort();
    await vi.waitFor(() => expect(h.up.aborted).toBe(1));
    release();
    expect(h.up.count()).toBe(1);
  });

  it('other routes: a client that disconnects before the answer has begun aborts the upstream call', async () => {
    // Upstream holds its answer until its client (Reprise) goes away.
    h.up.next({ delayMs: 600_000 });
    const req = request(`${h.reprise.url}/v1/slow-thing`, { method: 'POST', headers: { 'content-length': '2' } });
    req.on('error', () => {});
    req.end('{}');
    await vi.waitFor(() => expect(h.up.count()).toBe(1));
    req.destroy();
    await vi.waitFor(() => expect(h.up.aborted).toBe(1));
  });
});
