/**
 * An upstream status outside 200-599 (HTTP/1.1 allows any three digits) on a cached route: the client gets a 502
 * upstream error with X-Cache-Status, and the single-flight ends, so the same request again is answered.
 */
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Running } from '../../src/node/server.js';
import { startFrontFor } from '../helpers/front.js';
import { exchange as rawRequest } from '../helpers/raw-http.js';
import { SyntheticEmbedder } from '../helpers/synthetic-embedder.js';

let upstream: Server;
let reprise: Running;
let calls = 0;

beforeAll(async () => {
  // A raw upstream: node:http refuses to write a status over 599.
  upstream = createServer((s) => {
    let buf = '';
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      calls++;
      const body = '{"odd":true}';
      s.end(`HTTP/1.1 600 Odd\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
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
const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'odd status please' }] });

describe('upstream answers a cached route with status 600', () => {
  it('the client gets a 502 upstream error that says X-Cache-Status', async () => {
    const res = await rawRequest(reprise.url, 'POST', '/v1/chat/completions', HEADERS, BODY);
    expect(res.status, res.text).toBe(502);
    expect(res.header('x-cache-status')).toBe('MISS');
  });

  it('the same request again reaches upstream instead of waiting on a flight nobody ends', async () => {
    const before = calls;
    const again = rawRequest(reprise.url, 'POST', '/v1/chat/completions', HEADERS, BODY);
    await vi.waitFor(() => expect(calls, 'the identical request never reached upstream: it waits on a leaked flight').toBe(before + 1), { timeout: 10_000 });
    await again;
  });
});
