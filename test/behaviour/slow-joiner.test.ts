/**
 * Bounded memory: a joiner that reads a shared stream slowly (here: not at all, until the end) is cut with an SSE
 * error event once more than a bounded buffer waits for it, and the request it shares with is never slowed by it.
 */
import { connect } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { useHarness } from '../helpers/harness.js';

const h = useHarness();

const MiB = 1024 * 1024;
/** 40 MiB in 1,000 words: more than the kernel's socket buffers and the joiner's bound together. */
const CONTENT = Array.from({ length: 1000 }, (_, i) => `${i}:${'x'.repeat(40 * 1024)}`).join(' ');
const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Send me everything.' }], stream: true });

describe('a joiner that does not read', () => {
  it('is cut with an error event; its leader gets the whole answer', async () => {
    let release!: () => void;
    h.up.next({ content: CONTENT, holdUntil: new Promise<void>((r) => (release = r)) });
    const coalesced = h.reprise.metrics.snapshot().coalesced;

    const leader = (async () => {
      const s = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Send me everything.' }], stream: true });
      let n = 0;
      for await (const c of s) n += (c.choices[0]?.delta.content ?? '').length;
      return n;
    })();
    await vi.waitFor(() => expect(h.up.count('/chat/completions')).toBe(1));

    // The joiner: sends the same request, then stops reading.
    const { hostname, port } = new URL(h.reprise.url);
    const socket = connect(Number(port), hostname);
    socket.on('error', () => {});
    const got: Buffer[] = [];
    socket.on('data', (d: Buffer) => got.push(d));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-test-a\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`,
    );
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().coalesced).toBe(coalesced + 1));
    await vi.waitFor(() => expect(got.length).toBeGreaterThan(0));
    socket.pause();

    release();
    expect(await leader).toBe(CONTENT.length);

    socket.resume();
    await closed;
    const received = Buffer.concat(got).toString('latin1');
    expect(received.length).toBeLessThan(CONTENT.length);
    // (chunked framing around it: the error event is the last thing in the body)
    expect(received).toMatch(/event: error\ndata: \{"error":\{[^\n]*"code":"reader_too_slow"[^\n]*\}\}\n\n\r\n0\r\n\r\n$/);
    expect(received).not.toContain('data: [DONE]');
    // 40 MiB is over --max-entry-bytes (4 MiB): passed on whole to the leader, and not stored.
    expect(h.reprise.store.size()).toBe(0);
    expect(h.reprise.metrics.snapshot().notStored['too-large']).toBeGreaterThanOrEqual(1);
    expect(received.length).toBeGreaterThan(MiB / 2);
  }, 60_000);
});
