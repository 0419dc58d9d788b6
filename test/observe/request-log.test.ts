/** Logs say what happened without ever carrying a credential or a prompt. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfig } from '../../src/config.js';
import { startReprise, type Running } from '../../src/server.js';
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
  r = await startReprise(parseConfig({ port: '0', host: '127.0.0.1', upstream: up.url }, {}), { embedder: bundledEmbedder(), logger });
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
});
