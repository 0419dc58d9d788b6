/**
 * The Node fast path (src/node/fast-path.ts) answers exact hits on node:http without the Hono app. Each test shows both that the fast path answered (Running.fastPath counts what
 * it answered itself) and that the answer is the app's: the same bytes as a twin Reprise with the fast path off
 * (sharing the store, clock and upstream), and every cache rule still applied.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type OpenAI from 'openai';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/observe/logger.js';
import { startReprise, type Running } from '../../src/server.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Entry } from '../../src/store/types.js';
import { ask, bundledEmbedder, chat, startHarness, type Harness } from '../helpers/harness.js';

/** One whole HTTP/1.1 exchange over a raw socket (Connection: close), as bytes, with Date lines taken out. */
function exchange(url: string, method: string, path: string, headers: Array<[string, string]>, body = ''): Promise<string> {
  const { hostname, port } = new URL(url);
  const bytes = Buffer.from(body);
  const head = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  if (body !== '' || method === 'POST') head.push(`Content-Length: ${bytes.length}`);
  head.push('Connection: close', '', '');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1').replace(/\r\ndate: [^\r]*/gi, '')));
    socket.on('error', reject);
    socket.write(Buffer.concat([Buffer.from(head.join('\r\n')), bytes]));
  });
}

/** the default --ttl */
const TTL_MS = 86_400_000;
const AUTH: Array<[string, string]> = [
  ['Authorization', 'Bearer sk-test-a'],
  ['Content-Type', 'application/json'],
];
const chatBody = (text: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], ...extra });

/** A store whose reads can be made to fail, to show that a fault on the fast path fails open like the app. */
class FlakyStore extends MemoryStore {
  failing = false;
  override async getExact(scope: string, textKey: string): Promise<Entry | undefined> {
    if (this.failing) throw new Error('store down');
    return super.getExact(scope, textKey);
  }
}

describe('exact hits on the fast path (cache on)', () => {
  let h: Harness;
  /** the same Reprise with the fast path off, on the same store, clock and upstream */
  let twin: Running;
  const store = new FlakyStore({ now: () => h.clock.now() });
  const hits = () => h.reprise.fastPath.hits;

  beforeAll(async () => {
    h = await startHarness({}, { store });
    twin = await startReprise(parseConfig({ port: '0', host: '127.0.0.1', upstream: h.up.url, 'log-level': 'silent' }, {}), {
      embedder: bundledEmbedder(),
      logger: silentLogger,
      now: h.clock.now,
      store,
      fastPath: false,
    });
    await twin.ready;
  });
  afterAll(async () => {
    await twin?.close();
    await h?.close();
  });
  beforeEach(async () => {
    h.up.reset();
    store.failing = false;
    await store.purge({});
  });

  it('the second identical request is answered by the fast path, byte for byte as the app answers it', async () => {
    const cases: Array<[string, string]> = [
      ['/v1/chat/completions', chatBody('What is the capital of Norway?')],
      ['/v1/chat/completions', chatBody('What is the capital of Norway?', { stream: true })],
      ['/v1/chat/completions', chatBody('What is the capital of Norway?', { stream: true, stream_options: { include_usage: true } })],
      ['/v1/completions', JSON.stringify({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi to Oslo' })],
      ['/v1/completions', JSON.stringify({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi to Oslo', stream: true })],
      ['/v1/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: 'fjords' })],
    ];
    for (const [path, body] of cases) {
      // The first request of each teaches the fast path the raw request's key (a miss, or a hit on the entry the
      // JSON form of the same question stored).
      await exchange(h.reprise.url, 'POST', path, AUTH, body);
      h.clock.advance(3_000);
      const before = hits();
      const fast = await exchange(h.reprise.url, 'POST', path, AUTH, body);
      expect(hits(), `${path} ${body}`).toBe(before + 1);
      const slow = await exchange(twin.url, 'POST', path, AUTH, body);
      expect(fast).toContain('x-cache-status: HIT');
      expect(fast).toMatch(/\r\nage: [1-9]\d*\r\n/);
      expect(fast).toBe(slow);
    }
    expect(h.up.count()).toBe(3); // the JSON and stream forms of one question share an entry
  });

  it('counts a fast hit in the metrics as the app counts a hit', async () => {
    const c = h.client();
    await chat(c, ask('How many moons does Mars have?'));
    const before = h.reprise.metrics.snapshot();
    const hit = await chat(c, ask('How many moons does Mars have?'));
    expect(hit.headers.get('x-cache-status')).toBe('HIT');
    const after = h.reprise.metrics.snapshot();
    expect(after.requests.HIT - before.requests.HIT).toBe(1);
    expect(after.hits.exact - before.hits.exact).toBe(1);
    expect(after.tokensSaved - before.tokensSaved).toBe(hit.data.usage!.total_tokens);
  });

  it('an entry evicted by feedback is not served: the next identical request misses', async () => {
    const c = h.client();
    await chat(c, ask('Which river flows through Vienna?'));
    const hit = await chat(c, ask('Which river flows through Vienna?'));
    expect(hit.headers.get('x-cache-status')).toBe('HIT');
    const fast = hits();
    const res = await fetch(`${h.reprise.url}/v1/cache/feedback`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-a', 'content-type': 'application/json' },
      body: JSON.stringify({ id: hit.headers.get('x-cache-id') }),
    });
    expect(res.status).toBe(200);
    const after = await chat(c, ask('Which river flows through Vienna?'));
    expect(after.headers.get('x-cache-status')).toBe('MISS');
    expect(hits()).toBe(fast);
    expect(h.up.count()).toBe(2);
  });

  it('the X-Cache-Feedback header is left to the app, which evicts before answering', async () => {
    const c = h.client();
    await chat(c, ask('Who wrote Faust?'));
    const hit = await chat(c, ask('Who wrote Faust?'));
    const fast = hits();
    const next = await chat(c, ask('Who wrote Faust?'), { 'x-cache-feedback': `wrong=${hit.headers.get('x-cache-id')}` });
    expect(next.headers.get('x-cache-status')).toBe('MISS');
    expect(hits()).toBe(fast);
  });

  it('an entry deleted from the store, or expired, is not served', async () => {
    const c = h.client();
    await chat(c, ask('What is the boiling point of water at sea level?'));
    expect((await chat(c, ask('What is the boiling point of water at sea level?'))).headers.get('x-cache-status')).toBe('HIT');
    await store.purge({});
    expect((await chat(c, ask('What is the boiling point of water at sea level?'))).headers.get('x-cache-status')).toBe('MISS');
    h.clock.advance(TTL_MS + 1000);
    const fast = hits();
    expect((await chat(c, ask('What is the boiling point of water at sea level?'))).headers.get('x-cache-status')).toBe('MISS');
    expect(hits()).toBe(fast);
    expect(h.up.count()).toBe(3);
  });

  it("another credential's identical request does not get this tenant's entry", async () => {
    await chat(h.client('sk-test-a'), ask('What is the tallest tree species?'));
    await chat(h.client('sk-test-a'), ask('What is the tallest tree species?'));
    const fast = hits();
    const other = await chat(h.client('sk-test-b'), ask('What is the tallest tree species?'));
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    // Azure style: the same placeholder Authorization, a different api-key
    const body = chatBody('What is the tallest tree species?');
    const azure = (key: string) => exchange(h.reprise.url, 'POST', '/v1/chat/completions', [...AUTH, ['api-key', key]], body);
    expect(await azure('key-1')).toContain('x-cache-status: MISS');
    expect(await azure('key-1')).toContain('x-cache-status: HIT');
    expect(await azure('key-2')).toContain('x-cache-status: MISS');
    expect(hits()).toBe(fast + 1);
    expect(h.up.count()).toBe(4);
  });

  it('Cache-Control is left to the app: no-cache bypasses, max-age is respected', async () => {
    const c = h.client();
    await chat(c, ask('How many strings does a violin have?'));
    const fast = hits();
    const noCache = await chat(c, ask('How many strings does a violin have?'), { 'cache-control': 'no-cache' });
    expect(noCache.headers.get('x-cache-status')).toBe('BYPASS');
    h.clock.advance(120_000);
    const tooOld = await chat(c, ask('How many strings does a violin have?'), { 'cache-control': 'max-age=60' });
    expect(tooOld.headers.get('x-cache-status')).toBe('MISS');
    expect(hits()).toBe(fast);
    const plain = await chat(c, ask('How many strings does a violin have?'));
    expect(plain.headers.get('x-cache-status')).toBe('HIT');
    expect(plain.headers.get('age')).toBe('0');
    expect(hits()).toBe(fast + 1);
  });

  it('x-cache-namespace partitions the cache on the fast path too', async () => {
    const c = h.client();
    await chat(c, ask('What is the largest moon of Saturn?'), { 'x-cache-namespace': 'app-a' });
    const fast = hits();
    expect((await chat(c, ask('What is the largest moon of Saturn?'), { 'x-cache-namespace': 'app-b' })).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(c, ask('What is the largest moon of Saturn?'))).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(c, ask('What is the largest moon of Saturn?'), { 'x-cache-namespace': 'app-a' })).headers.get('x-cache-status')).toBe('HIT');
    expect(hits()).toBe(fast + 1);
  });

  it('x-cache-ttl and x-cache-threshold are left to the app, which still validates them', async () => {
    const c = h.client();
    await chat(c, ask('Name a prime number above ninety.'));
    const fast = hits();
    expect((await chat(c, ask('Name a prime number above ninety.'), { 'x-cache-ttl': '60' })).headers.get('x-cache-status')).toBe('HIT');
    const bad = (await chat(c, ask('Name a prime number above ninety.'), { 'x-cache-threshold': '2' }).catch((e: unknown) => e)) as { status: number };
    expect(bad.status).toBe(400);
    expect(hits()).toBe(fast);
  });

  it('replays a stream from the fast path through the SDK', async () => {
    const c = h.client();
    const stream = async () => {
      const { data, response } = await c.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Describe a comet.' }], stream: true, stream_options: { include_usage: true } })
        .withResponse();
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined | null;
      for await (const chunk of data) {
        text += chunk.choices[0]?.delta.content ?? '';
        usage = chunk.usage ?? usage;
      }
      return { text, usage, status: response.headers.get('x-cache-status') };
    };
    const miss = await stream();
    const fast = hits();
    const hit = await stream();
    expect(hits()).toBe(fast + 1);
    expect(hit.status).toBe('HIT');
    expect(hit.text).toBe(miss.text);
    expect(hit.usage).toEqual(miss.usage);
  });

  it('bad JSON still gets the OpenAI-style 400, and a repeated one too', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${h.reprise.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-x', 'content-type': 'application/json' }, body: '{"model": "gpt-4o", "messages": [' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    }
    expect(h.up.count()).toBe(0);
  });

  it('a store fault on the fast path fails open as the app does, counted once', async () => {
    const c = h.client();
    await chat(c, ask('What colour is a ruby?'));
    const before = h.reprise.metrics.snapshot();
    store.failing = true;
    const r = await chat(c, ask('What colour is a ruby?'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-cache-status')).toBe('ERROR');
    expect(r.headers.get('x-cache-reason')).toBe('lookup');
    expect(h.reprise.metrics.snapshot().faults.lookup - before.faults.lookup).toBe(1);
  });
});

describe('shared-cache mode', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ 'shared-cache': 'true' });
  });
  afterAll(() => h?.close());

  it('one credential stores, another gets the hit from the fast path', async () => {
    await chat(h.client('sk-one'), ask('What is the speed of sound in air?'));
    const hit = await chat(h.client('sk-two'), ask('What is the speed of sound in air?'));
    expect(hit.headers.get('x-cache-status')).toBe('HIT');
    expect(h.reprise.fastPath.hits).toBe(1);
  });
});
