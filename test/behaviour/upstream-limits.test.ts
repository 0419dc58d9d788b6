/**
 * Limits and timeouts on the way upstream: a connect timeout and a first-byte timeout are 504s in OpenAI's error
 * shape; an upstream that goes quiet mid-stream ends the stream with an SSE error event the SDK raises, never a
 * clean end; none of them stores anything; and a limit on concurrent upstream calls answers 503 with Retry-After
 * beyond its queue.
 */
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { Running } from '../../src/node/server.js';
import { silentLogger } from '../../src/observe/logger.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { startFront } from '../helpers/front.js';
import { bundledEmbedder } from '../helpers/harness.js';
import { exchange } from '../helpers/raw-http.js';

const start = async (flags: Record<string, string>) => {
  const r = await startFront(parseConfig({ port: '0', host: '127.0.0.1', 'log-level': 'silent', ...flags }, {}), { embedder: bundledEmbedder(), logger: silentLogger });
  await r.ready;
  return r;
};
const client = (r: Running) => new OpenAI({ apiKey: 'sk-limits', baseURL: `${r.url}/v1`, maxRetries: 0, timeout: 20_000 });
const ask = (content: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content }] });

let up: FakeUpstream;
beforeAll(async () => {
  up = await startFakeUpstream();
});
afterAll(() => up?.close());

describe('a connection the upstream never completes', () => {
  // A TCP server that accepts and says nothing: a TLS handshake with it never finishes.
  let silent: TcpServer;
  const sockets = new Set<Socket>();
  let r: Running;
  beforeAll(async () => {
    silent = createTcpServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    r = await start({ upstream: `https://127.0.0.1:${(silent.address() as AddressInfo).port}/v1`, 'upstream-connect-timeout': '300' });
  });
  afterAll(async () => {
    await r?.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((res) => silent.close(() => res()));
  });

  it('is a 504 in OpenAI error shape after --upstream-connect-timeout', async () => {
    const res = await exchange(r.url, 'POST', '/v1/chat/completions', [['authorization', 'Bearer sk-limits'], ['content-type', 'application/json']], JSON.stringify(ask('Anyone there?')));
    expect(res.status).toBe(504);
    expect(JSON.parse(res.text)).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_connect_timeout' } });
    expect(r.store.size()).toBe(0);
  });
});

describe('an upstream slow to its first byte, or quiet mid-stream', () => {
  let r: Running;
  beforeAll(async () => {
    r = await start({ upstream: up.url, 'upstream-timeout': '300', 'upstream-idle-timeout': '300' });
  });
  afterAll(() => r?.close());

  it('no head within --upstream-timeout is a 504, and nothing is stored', async () => {
    up.reset();
    up.next({ delayMs: 5_000 });
    const err = (await client(r).chat.completions.create(ask('Slow to start?')).catch((e: unknown) => e)) as APIError;
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(504);
    expect(err.code).toBe('upstream_timeout');
    expect(r.store.size()).toBe(0);
  });

  it('a stream that goes quiet past --upstream-idle-timeout ends with an error the SDK raises, and is not stored', async () => {
    up.reset();
    let release!: () => void;
    up.next({ holdUntil: new Promise<void>((res) => (release = res)) });
    const stream = await client(r).chat.completions.create({ ...ask('Tell me a long story.'), stream: true });
    let text = '';
    const err = await (async () => {
      try {
        for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    release();
    expect(err, `the stream ended cleanly after ${JSON.stringify(text)}`).toBeInstanceOf(APIError);
    expect(text.length).toBeGreaterThan(0);
    expect(r.store.size()).toBe(0);
    expect(r.metrics.snapshot().notStored.aborted).toBeGreaterThanOrEqual(1);
  });
});

describe('--upstream-concurrency and --upstream-queue', () => {
  let r: Running;
  beforeAll(async () => {
    r = await start({ upstream: up.url, 'upstream-concurrency': '1', 'upstream-queue': '1' });
  });
  afterAll(() => r?.close());

  it('one call under way, one waiting: a third is a 503 with Retry-After; the waiting one goes once the first is done', async () => {
    up.reset();
    let release!: () => void;
    up.next({ holdUntil: new Promise<void>((res) => (release = res)) });
    const c = client(r);
    const first = (async () => {
      const s = await c.chat.completions.create({ ...ask('First, held upstream.'), stream: true });
      let t = '';
      for await (const ch of s) t += ch.choices[0]?.delta.content ?? '';
      return t;
    })();
    await vi.waitFor(() => expect(up.count('/chat/completions')).toBe(1));
    const second = c.chat.completions.create(ask('Second, waits for a slot.'));
    // The second is queued, not sent: wait until it waits for a slot (past its lookup), then the third.
    await vi.waitFor(() => expect(r.metrics.snapshot().upstreamSlots).toEqual({ underWay: 1, queued: 1 }));
    const scraped = await (await fetch(`${r.url}/metrics`)).text();
    expect(scraped).toMatch(/^reprise_upstream_slots_in_use 1$/m);
    expect(scraped).toMatch(/^reprise_upstream_queue_length 1$/m);
    const third = await exchange(r.url, 'POST', '/v1/chat/completions', [['authorization', 'Bearer sk-limits'], ['content-type', 'application/json']], JSON.stringify(ask('Third, refused.')));
    expect(third.status).toBe(503);
    expect(third.header('retry-after')).toBe('1');
    expect(JSON.parse(third.text)).toMatchObject({ error: { code: 'upstream_busy' } });
    expect(up.count('/chat/completions')).toBe(1);
    release();
    expect(await first).toMatch(/^Answer #\d+ to: First, held upstream\.$/);
    expect((await second).choices[0]!.message.content).toMatch(/^Answer #\d+ to: Second, waits for a slot\.$/);
    expect(up.count('/chat/completions')).toBe(2);
  });
});
