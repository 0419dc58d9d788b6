/**
 * During a drain, a keep-alive connection whose request was under way takes no new request: its response says
 * Connection: close and the connection ends, so the drain ends with the work that was under way, cutting nothing at
 * the deadline.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Running } from '../../src/node/server.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { startFrontFor } from '../helpers/front.js';
import { bundledEmbedder } from '../helpers/harness.js';

let up: FakeUpstream;
beforeAll(async () => {
  up = await startFakeUpstream();
});
afterAll(() => up?.close());

const body = (q: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }] });
const req = (q: string) => {
  const b = body(q);
  return `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-drain\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
};

describe('keep-alive connections during a drain', () => {
  it('a connection whose request was under way is told to close, and takes no new request', async () => {
    const r: Running = await startFrontFor(up.url, { embedder: bundledEmbedder() });
    up.reset();
    let release!: () => void;
    up.next({ delayMs: 0, holdUntil: new Promise<void>((res) => (release = res)) });
    const { hostname, port } = new URL(r.url);
    const s: Socket = connect(Number(port), hostname);
    s.on('error', () => {});
    let seen = '';
    s.on('data', (d: Buffer) => (seen += d.toString('latin1')));
    const closed = new Promise<void>((res) => s.on('close', () => res()));
    // A streaming-free JSON request would not get its head before release; use the held SSE path instead.
    const b = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'First, under way.' }], stream: true });
    s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-drain\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`);
    await vi.waitFor(() => expect(seen).toContain('data: '));

    const closing = r.close({ drainMs: 20_000 });
    release();
    await vi.waitFor(() => expect(seen).toContain('data: [DONE]'), { timeout: 10_000 });
    const head = seen.slice(0, seen.indexOf('\r\n\r\n')).toLowerCase();
    // Keep-alive after the response? Then send another request on the same connection while draining.
    const before = up.count('/chat/completions');
    if (!s.destroyed) s.write(req('Second, sent on the same connection during the drain.'));
    await Promise.race([closed, closing]);
    await closing;
    await closed;
    console.log('head of the drained response:', JSON.stringify(head.split('\r\n').filter((l) => l.startsWith('connection'))));
    expect(up.count('/chat/completions') - before, 'a new request was accepted and sent upstream during the drain').toBe(0);
    expect(seen.match(/HTTP\/1\.1 /g)?.length ?? 0, `a second response came during the drain:\n${seen.slice(-400)}`).toBe(1);
  }, 60_000);
});
