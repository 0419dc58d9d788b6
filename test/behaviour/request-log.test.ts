/** Logs say what happened without ever carrying a credential or a prompt. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfig } from '../../src/config.js';
import type { Running } from '../../src/node/server.js';
import { startFront } from '../helpers/front.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { bundledEmbedder } from '../helpers/harness.js';
import OpenAI from 'openai';

const lines: string[] = [];
let up: FakeUpstream;
let r: Running;
beforeAll(async () => {
  up = await startFakeUpstream();
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  // The production logger settings (level info), writing into memory.
  const logger = pino({ level: 'info' }, sink);
  r = await startFront(parseConfig({ port: '0', host: '127.0.0.1', upstream: up.url }, {}), { embedder: bundledEmbedder(), logger });
  await r.ready;
});
afterAll(async () => {
  await r.close();
  await up.close();
});

describe('request log', () => {
  it('logs each request with its cache status, and never the API key or the prompt', async () => {
    const client = new OpenAI({ apiKey: 'sk-SECRET-abc123', baseURL: `${r.url}/v1`, maxRetries: 0 });
    const prompt = 'my-very-private-question-about-zebras';
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
    const logs = lines.join('');
    expect(logs).not.toContain('sk-SECRET-abc123');
    expect(logs).not.toContain('zebras');
    const requests = lines.map((l) => JSON.parse(l) as { msg: string; cache?: string; path?: string }).filter((l) => l.msg === 'request');
    expect(requests.map((l) => l.cache)).toEqual(['MISS', 'HIT']);
    expect(requests[0]!.path).toBe('/v1/chat/completions');
  });

  it('every line has the same fields, and never the query string (it can carry a key)', async () => {
    lines.length = 0;
    await fetch(`${r.url}/v1/models?api-key=sk-IN-QUERY-42`);
    await fetch(`${r.url}/nope`);
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(2);
    expect(lines.join('')).not.toContain('sk-IN-QUERY-42');
    expect(requests[0]).toMatchObject({ method: 'GET', path: '/v1/models', status: 200, cache: 'BYPASS', reason: 'not-cacheable-route' });
    expect(requests[1]).toMatchObject({ method: 'GET', path: '/nope', status: 404 });
    for (const l of requests) expect(typeof l.ms).toBe('number');
  });

  it('a client that leaves before its answer is logged 499, with its time like every other line', async () => {
    lines.length = 0;
    // Upstream would answer in 10 s; the client leaves as soon as its call has arrived there.
    up.reset();
    up.next({ delayMs: 10_000 });
    const ac = new AbortController();
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${r.url}/v1`, maxRetries: 0 });
    const pending = client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'slow one' }] }, { signal: ac.signal }).catch(() => undefined);
    await vi.waitFor(() => expect(up.calls.length).toBe(1));
    ac.abort();
    await pending;
    await vi.waitFor(() => {
      const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
      expect(requests.at(-1)).toMatchObject({ status: 499, path: '/v1/chat/completions' });
      expect(typeof requests.at(-1)!.ms).toBe('number');
    });
  });
});
