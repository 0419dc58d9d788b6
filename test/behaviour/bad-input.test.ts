/** Bad input gets OpenAI-shaped errors with the right status, and never reaches upstream. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFront } from '../helpers/front.js';
import { APIError } from 'openai';
import { startHarness, useHarness, type Harness } from '../helpers/harness.js';

const h = useHarness({ 'body-limit': '64kb' });

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${h.reprise.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-x', ...headers }, body });

function expectErrorShape(json: unknown) {
  expect(json).toEqual({
    error: { message: expect.any(String), type: expect.any(String), param: expect.toSatisfy((p: unknown) => p === null || typeof p === 'string'), code: expect.toSatisfy((p: unknown) => p === null || typeof p === 'string') },
  });
}

describe('bad input', () => {
  it('invalid JSON is a 400 with OpenAI error shape', async () => {
    const res = await post('/v1/chat/completions', '{"model": "gpt-4o", "messages": [');
    expect(res.status).toBe(400);
    const json = await res.json();
    expectErrorShape(json);
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.code).toBe('invalid_json');
    expect(h.up.count()).toBe(0);
  });

  it('a repeated invalid body is a 400 every time: a bad body is never remembered as a known one', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await post('/v1/chat/completions', '{"model": "gpt-4o", "messages": [');
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    }
    expect(h.up.count()).toBe(0);
  });

  it.each([
    ['model', { messages: [{ role: 'user', content: 'hi' }] }],
    ['messages', { model: 'gpt-4o' }],
  ])('a missing %s is a 400 naming the parameter', async (param, body) => {
    const res = await post('/v1/chat/completions', JSON.stringify(body));
    expect(res.status).toBe(400);
    const json = await res.json();
    expectErrorShape(json);
    expect(json.error.param).toBe(param);
    expect(json.error.code).toBe('missing_required_parameter');
  });

  it('the SDK sees a bad request as BadRequestError with the param', async () => {
    const err = (await h
      .client()
      .chat.completions.create({ model: 'gpt-4o', messages: 'not a list' as never })
      .catch((e: unknown) => e)) as APIError;
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(400);
    expect(err.param).toBe('messages');
  });

  it('a body over the limit is a 413', async () => {
    const big = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(70_000) }] });
    const res = await post('/v1/chat/completions', big);
    expect(res.status).toBe(413);
    const json = await res.json();
    expectErrorShape(json);
    expect(json.error.code).toBe('request_too_large');
    expect(h.up.count()).toBe(0);
  });

  it('a streamed (chunked) body over the limit is a 413 too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16_384));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 8) c.enqueue(chunk);
        else c.close();
      },
    });
    const res = await fetch(`${h.reprise.url}/v1/chat/completions`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('an unknown route outside /v1/ is a 404 JSON error', async () => {
    const res = await fetch(`${h.reprise.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/json');
    expectErrorShape(await res.json());
  });

  it('an unreachable upstream is a 502 in OpenAI error shape', async () => {
    const { parseConfig } = await import('../../src/config.js');
    const { silentLogger } = await import('../../src/observe/logger.js');
    const { bundledEmbedder } = await import('../helpers/harness.js');
    const dead = await startFront(parseConfig({ port: '0', host: '127.0.0.1', upstream: 'http://127.0.0.1:9/v1', 'log-level': 'silent' }, {}), {
      embedder: bundledEmbedder(),
      logger: silentLogger,
    });
    try {
      const res = await fetch(`${dead.url}/v1/models`);
      expect(res.status).toBe(502);
      const json = await res.json();
      expectErrorShape(json);
      expect(json.error.code).toBe('upstream_unavailable');
      // The client learns nothing of where the upstream is (the log has the detail).
      expect(JSON.stringify(json)).not.toMatch(/127\.0\.0\.1|:9\b|ECONNREFUSED/);
    } finally {
      await dead.close();
    }
  });
});

describe('bad input with the cache off', () => {
  let off: Harness;
  beforeAll(async () => {
    off = await startHarness({ cache: 'false' });
  });
  afterAll(() => off?.close());

  it.each([
    ['invalid JSON', '{"model": "gpt-4o", "messages": [', { param: null, code: 'invalid_json' }],
    ['a missing parameter', JSON.stringify({ model: 'gpt-4o' }), { param: 'messages', code: 'missing_required_parameter' }],
    ['a body that is not an object', '[1]', { param: null, code: 'invalid_type' }],
  ])('%s is still a 400 in OpenAI error shape, and never goes upstream', async (_what, body, want) => {
    const res = await fetch(`${off.reprise.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-x' }, body });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/json');
    const json = await res.json();
    expectErrorShape(json);
    expect(json.error).toMatchObject({ type: 'invalid_request_error', ...want });
    expect(off.up.count()).toBe(0);
  });
});
