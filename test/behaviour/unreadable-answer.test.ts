/**
 * The capture (a cache part) only reads the bytes going to the client. An upstream SSE event it cannot fold (here
 * `"choices": {}`) costs at most the store, never the client's answer or the single-flight: the next identical
 * request does not wait on a flight nobody ends.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Running } from '../../src/node/server.js';
import { startFrontFor } from '../helpers/front.js';
import { exchange as rawRequest } from '../helpers/raw-http.js';
import { SyntheticEmbedder } from '../helpers/synthetic-embedder.js';

let upstream: Server;
let reprise: Running;
let calls = 0;

const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const base = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
      res.write(ev({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' }, finish_reason: null }] }));
      // An odd event: valid JSON, not an error, but `choices` is not a list.
      res.write(ev({ ...base, choices: {} }));
      res.write(ev({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const { port } = upstream.address() as AddressInfo;
  reprise = await startFrontFor(`http://127.0.0.1:${port}/v1`, { embedder: new SyntheticEmbedder() });
});
afterAll(async () => {
  await reprise?.close();
  await new Promise<void>((r) => upstream.close(() => r()));
});

const HEADERS: Array<[string, string]> = [['Authorization', 'Bearer sk-test'], ['Content-Type', 'application/json']];
const body = (q: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }], stream: true });

describe('an upstream event the capture cannot fold', () => {
  it('reaches the client whole, as upstream sent it (the cache fails open)', async () => {
    const res = await rawRequest(reprise.url, 'POST', '/v1/chat/completions', HEADERS, body('first question'));
    expect(res.status).toBe(200);
    expect(res.cut, `client's stream was cut after ${JSON.stringify(res.text)}`).toBe(false);
    expect(res.text).toMatch(/data: \[DONE\]\n\n$/);
  });

  it('leaves no flight behind: the same request again goes upstream and is answered', async () => {
    const before = calls;
    const first = rawRequest(reprise.url, 'POST', '/v1/chat/completions', HEADERS, body('second question'));
    await vi.waitFor(() => expect(calls).toBe(before + 1));
    await first;
    // The same request again: it must not join a flight that nobody will ever end.
    const again = rawRequest(reprise.url, 'POST', '/v1/chat/completions', HEADERS, body('second question'));
    await vi.waitFor(() => expect(calls, 'the identical request never reached upstream: it is waiting on a leaked flight').toBe(before + 2), {
      timeout: 10_000,
    });
    await again; // answered (or cut, as the first test shows), but not left waiting
  });
});
