/**
 * The Node fast path (src/node/fast-path.ts) answers exact hits, cache-off requests and other /v1/ routes on
 * node:http without the Hono app. Each test shows both that the fast path answered (Running.fastPath counts what
 * it answered itself) and that the answer is the app's: the same bytes as a twin Reprise with the fast path off
 * (sharing the store, clock and upstream), and every cache rule still applied.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type OpenAI from 'openai';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/observe/logger.js';
import { startReprise, type Running } from '../../src/server.js';
import type { Embedder } from '../../src/embed/types.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Candidate, Entry } from '../../src/store/types.js';
import { ask, bundledEmbedder, chat, FakeClock, startHarness, type Harness } from '../helpers/harness.js';

/** One whole HTTP/1.1 exchange over a raw socket (Connection: close), as bytes, with Date lines taken out. */
function exchange(url: string, method: string, path: string, headers: Array<[string, string]>, body = ''): Promise<string> {
  const { hostname, port } = new URL(url);
  const bytes = Buffer.from(body);
  const head = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  const chunked = headers.some(([k]) => k.toLowerCase() === 'transfer-encoding');
  if ((body !== '' || method === 'POST') && !chunked) head.push(`Content-Length: ${bytes.length}`);
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
  searchFailing = false;
  /** vector searches made, to show a request is looked up once */
  searches = 0;
  override async getExact(scope: string, textKey: string): Promise<Entry | undefined> {
    if (this.failing) throw new Error('store down');
    return super.getExact(scope, textKey);
  }
  override async search(scope: string, vector: Float32Array, k: number): Promise<Candidate[]> {
    this.searches++;
    if (this.searchFailing) throw new Error('index down');
    return super.search(scope, vector, k);
  }
}

/**
 * A harness (fast path on) and a twin Reprise with the fast path off on the same store, clock and upstream, for
 * the tests of a describe block; the upstream's record and the store are reset before each test.
 */
function useTwin(store: FlakyStore, started: (s: { h: Harness; twin: Running }) => void): void {
  let h: Harness | undefined;
  let twin: Running | undefined;
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
    started({ h, twin });
  });
  afterAll(async () => {
    await twin?.close();
    await h?.close();
  });
  beforeEach(async () => {
    h!.up.reset();
    store.failing = false;
    store.searchFailing = false;
    await store.purge({});
  });
}

describe('exact hits on the fast path (cache on)', () => {
  let h: Harness;
  /** the same Reprise with the fast path off, on the same store, clock and upstream */
  let twin: Running;
  const store = new FlakyStore({ now: () => h.clock.now() });
  const hits = () => h.reprise.fastPath.hits;

  useTwin(store, (started) => ({ h, twin } = started));

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

describe('semantic hits on the fast path', () => {
  let h: Harness;
  /** the same Reprise with the fast path off, on the same store, clock and upstream */
  let twin: Running;
  const store = new FlakyStore({ now: () => h.clock.now() });
  const semanticHits = () => h.reprise.fastPath.semanticHits;
  const STORED = 'How do I reset my password?';
  const REWORDED = 'How can I reset my password?';

  useTwin(store, (started) => ({ h, twin } = started));

  it('a reworded question is served by the fast path, byte for byte as the app serves it', async () => {
    const forms: Array<Record<string, unknown>> = [{}, { stream: true }, { stream: true, stream_options: { include_usage: true } }];
    await exchange(h.reprise.url, 'POST', '/v1/chat/completions', AUTH, chatBody(STORED));
    h.clock.advance(5_000);
    for (const extra of forms) {
      const body = chatBody(REWORDED, extra);
      const before = semanticHits();
      const fast = await exchange(h.reprise.url, 'POST', '/v1/chat/completions', AUTH, body);
      expect(semanticHits(), JSON.stringify(extra)).toBe(before + 1);
      const slow = await exchange(twin.url, 'POST', '/v1/chat/completions', AUTH, body);
      expect(fast).toContain('x-cache-match: semantic');
      expect(fast).toMatch(/\r\nx-cache-similarity: 0\.9\d{3}\r\n/);
      expect(fast).toBe(slow);
    }
    expect(h.up.count()).toBe(1);
  });

  it('counts a fast semantic hit in the metrics as the app counts one', async () => {
    const c = h.client();
    await chat(c, ask(STORED));
    const before = h.reprise.metrics.snapshot();
    const fast = semanticHits();
    const hit = await chat(c, ask(REWORDED));
    expect(hit.headers.get('x-cache-match')).toBe('semantic');
    expect(semanticHits()).toBe(fast + 1);
    const after = h.reprise.metrics.snapshot();
    expect(after.requests.HIT - before.requests.HIT).toBe(1);
    expect(after.hits.semantic - before.hits.semantic).toBe(1);
    expect(after.tokensSaved - before.tokensSaved).toBe(hit.data.usage!.total_tokens);
  });

  it('a request that does not hit goes to the app with what the fast path found: one search, one upstream call, stored', async () => {
    const c = h.client();
    await chat(c, ask(STORED));
    const searches = store.searches;
    const other = await chat(c, ask('What is the boiling point of water at sea level?'));
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    expect(store.searches - searches).toBe(1);
    expect(h.up.count()).toBe(2);
    const again = await chat(c, ask('What is the boiling point of water at sea level?'));
    expect(again.headers.get('x-cache-status')).toBe('HIT');
  });

  it('the guards still apply: a question about another name is not served', async () => {
    const c = h.client();
    await chat(c, ask('What is the capital of France?'));
    const before = semanticHits();
    const other = await chat(c, ask('What is the capital of Germany?'));
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    expect(semanticHits()).toBe(before);
    expect(h.up.count()).toBe(2);
  });

  it("another credential's reworded question does not get this tenant's entry", async () => {
    await chat(h.client(), ask(STORED));
    const other = await chat(h.client('sk-test-b'), ask(REWORDED));
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    expect(h.up.count()).toBe(2);
  });

  it('x-cache-namespace partitions semantic hits on the fast path too', async () => {
    const c = h.client();
    await chat(c, ask(STORED), { 'x-cache-namespace': 'team-a' });
    const before = semanticHits();
    const other = await chat(c, ask(REWORDED), { 'x-cache-namespace': 'team-b' });
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    const plain = await chat(c, ask('How can I reset my password, please?'));
    expect(plain.headers.get('x-cache-status')).toBe('MISS');
    const same = await chat(c, ask(REWORDED), { 'x-cache-namespace': 'team-a' });
    expect(same.headers.get('x-cache-match')).toBe('semantic');
    expect(semanticHits()).toBe(before + 1);
    expect(h.up.count()).toBe(3);
  });

  it('an index fault fails open as the app does, counted once', async () => {
    const c = h.client();
    await chat(c, ask(STORED));
    const before = h.reprise.metrics.snapshot();
    store.searchFailing = true;
    const r = await chat(c, ask(REWORDED));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-cache-status')).toBe('ERROR');
    expect(r.headers.get('x-cache-reason')).toBe('search');
    expect(h.reprise.metrics.snapshot().faults.search - before.faults.search).toBe(1);
    expect(h.up.count()).toBe(2);
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

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An upstream that answers with whatever a test scripts, headers exactly as given, and records what it got. */
async function scriptedUpstream() {
  const seen: Seen[] = [];
  let answer: (req: IncomingMessage) => { status: number; headers: string[]; body: string[] } = () => ({ status: 200, headers: ['Content-Type', 'application/json'], body: ['{}'] });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // Host names the proxy's upstream connection. Framing too: undici sends a streamed body with its length
      // when the whole body has arrived by the time it writes the request, chunked otherwise, on either path.
      const { host: _host, 'content-length': _length, 'transfer-encoding': _chunked, ...headers } = req.headers;
      seen.push({ method: req.method!, url: req.url!, headers, body: Buffer.concat(chunks).toString('utf8') });
      const a = answer(req);
      res.writeHead(a.status, a.headers);
      for (const b of a.body) res.write(b);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    seen,
    answer: (f: typeof answer) => (answer = f),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('forwarding on the fast path (cache off, and other /v1/ routes)', () => {
  let up: Awaited<ReturnType<typeof scriptedUpstream>>;
  let fast: Running;
  let twin: Running;
  /** the same pair with caching on */
  let fastOn: Running;
  let twinOn: Running;

  beforeAll(async () => {
    up = await scriptedUpstream();
    const opts = { embedder: bundledEmbedder(), logger: silentLogger, now: new FakeClock().now };
    for (const cache of ['false', 'true']) {
      const config = parseConfig({ port: '0', host: '127.0.0.1', upstream: up.url, cache, 'log-level': 'silent' }, {});
      const pair = [await startReprise(config, opts), await startReprise(config, { ...opts, fastPath: false })] as const;
      if (cache === 'false') [fast, twin] = pair;
      else [fastOn, twinOn] = pair;
    }
    await fastOn.ready;
    await twinOn.ready;
  });
  afterAll(async () => {
    for (const r of [fast, twin, fastOn, twinOn]) await r?.close();
    await up?.close();
  });

  /** Send the same request to both; both answers and both upstream requests must be identical. */
  async function both(method: string, path: string, headers: Array<[string, string]>, body = '', pair = [fast, twin]) {
    up.seen.length = 0;
    const a = await exchange(pair[0]!.url, method, path, headers, body);
    const b = await exchange(pair[1]!.url, method, path, headers, body);
    expect(a).toBe(b);
    expect(up.seen).toHaveLength(2);
    expect(up.seen[0]).toEqual(up.seen[1]);
    return { response: a, upstream: up.seen[0]! };
  }

  it('cache off: a chat request is validated, forwarded and marked BYPASS/disabled by the fast path, as by the app', async () => {
    up.answer(() => ({ status: 200, headers: ['Content-Type', 'application/json', 'X-Request-Id', 'req_1'], body: ['{"id":"chatcmpl-1"}'] }));
    const before = { bypassed: fast.fastPath.bypassed, metrics: fast.metrics.snapshot() };
    const { response, upstream } = await both('POST', '/v1/chat/completions', [...AUTH, ['X-Cache-Namespace', 'dropped'], ['Cache-Control', 'no-store']], chatBody('hi'));
    expect(fast.fastPath.bypassed).toBe(before.bypassed + 1);
    expect(response).toContain('x-cache-reason: disabled\r\nx-cache-status: BYPASS');
    expect(response).toContain('{"id":"chatcmpl-1"}');
    expect(upstream.url).toBe('/v1/chat/completions');
    expect(upstream.body).toBe(chatBody('hi'));
    expect(upstream.headers['x-cache-namespace']).toBeUndefined();
    expect(upstream.headers['cache-control']).toBe('no-store');
    const after = fast.metrics.snapshot();
    expect(after.requests.BYPASS - before.metrics.requests.BYPASS).toBe(1);
    expect(after.upstreamCalls - before.metrics.upstreamCalls).toBe(1);
  });

  it('cache off: invalid bodies still get the app\'s 400 and never go upstream', async () => {
    for (const body of ['{"model": "gpt-4o", "messages": [', JSON.stringify({ model: 'gpt-4o' }), '[1]']) {
      up.seen.length = 0;
      const a = await exchange(fast.url, 'POST', '/v1/chat/completions', AUTH, body);
      const b = await exchange(twin.url, 'POST', '/v1/chat/completions', AUTH, body);
      expect(a).toMatch(/^HTTP\/1\.1 400 /);
      expect(a).toBe(b);
      expect(up.seen).toHaveLength(0);
    }
  });

  it('cache on: controls that neither read nor write the cache are forwarded by the fast path, as the app forwards them', async () => {
    up.answer(() => ({ status: 200, headers: ['Content-Type', 'application/json'], body: ['{"id":"chatcmpl-2"}'] }));
    const cases: Array<[Array<[string, string]>, string]> = [
      [[['Cache-Control', 'no-store']], 'no-store'],
      [[['Cache-Control', 'no-cache'], ['X-Cache-Ttl', '0']], 'no-cache'],
      [[['Cache-Control', 'max-age=0'], ['X-Cache-Ttl', '0'], ['X-Cache-Namespace', 'app-a']], 'max-age=0'],
    ];
    for (const [controls, reason] of cases) {
      const before = { bypassed: fastOn.fastPath.bypassed, metrics: fastOn.metrics.snapshot() };
      const { response, upstream } = await both('POST', '/v1/chat/completions', [...AUTH, ...controls], chatBody('hello there'), [fastOn, twinOn]);
      expect(fastOn.fastPath.bypassed).toBe(before.bypassed + 1);
      expect(response).toContain(`x-cache-reason: ${reason}\r\nx-cache-status: BYPASS`);
      expect(upstream.headers['x-cache-ttl']).toBeUndefined();
      const after = fastOn.metrics.snapshot();
      expect(after.requests.BYPASS - before.metrics.requests.BYPASS).toBe(1);
      expect(after.upstreamCalls - before.metrics.upstreamCalls).toBe(1);
    }
    expect(fastOn.store.size()).toBe(0);
  });

  it('cache on: controls that use the cache, or that the app rejects, are left to the app', async () => {
    up.answer(() => ({ status: 200, headers: ['Content-Type', 'application/json'], body: ['{"id":"chatcmpl-3","object":"chat.completion","choices":[]}'] }));
    const before = fastOn.fastPath.bypassed;
    const body = chatBody('hello again');
    const noCache = await both('POST', '/v1/chat/completions', [...AUTH, ['Cache-Control', 'no-cache']], body, [fastOn, twinOn]);
    expect(noCache.response).toContain('x-cache-reason: no-cache\r\nx-cache-status: BYPASS');
    for (const controls of [[['Cache-Control', 'no-store'], ['X-Cache-Ttl', 'soon']], [['Cache-Control', 'max-age=abc']]] as Array<Array<[string, string]>>) {
      const a = await exchange(fastOn.url, 'POST', '/v1/chat/completions', [...AUTH, ...controls], body);
      expect(a).toMatch(/^HTTP\/1\.1 400 /);
      expect(a).toBe(await exchange(twinOn.url, 'POST', '/v1/chat/completions', [...AUTH, ...controls], body));
    }
    expect(fastOn.fastPath.bypassed).toBe(before);
  });

  it('other routes: method, path, query, body and headers go upstream as the app sends them; the answer comes back the same', async () => {
    up.answer(() => ({
      status: 201,
      headers: ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Dup', 'one', 'X-Dup', 'two', 'Connection', 'x-hop', 'X-Hop', 'gone', 'X-Kept', ' padded '],
      body: ['part one,', 'part two'],
    }));
    const before = fast.fastPath.passed;
    const { response, upstream } = await both(
      'PUT',
      '/v1/files/abc?purpose=batch&x=1',
      [['Authorization', 'Bearer sk-live'], ['X-Custom', 'kept'], ['X-Twice', 'a'], ['X-Twice', 'b'], ['Connection', 'keep-alive, x-drop-me'], ['X-Drop-Me', 'no'], ['TE', 'trailers'], ['X-Cache-Ttl', '5']],
      'raw body \u00e9',
    );
    expect(fast.fastPath.passed).toBe(before + 1);
    expect(response).toMatch(/^HTTP\/1\.1 201 Created\r\n/);
    expect(response).toContain('set-cookie: a=1\r\nset-cookie: b=2');
    expect(response).toContain('x-dup: one, two');
    expect(response).toContain('x-cache-reason: not-cacheable-route\r\nx-cache-status: BYPASS');
    expect(response).toContain('content-type: text/plain; charset=UTF-8');
    expect(response).not.toMatch(/x-hop/i);
    expect(upstream).toMatchObject({ method: 'PUT', url: '/v1/files/abc?purpose=batch&x=1', body: 'raw body \u00e9' });
    expect(upstream.headers).toMatchObject({ authorization: 'Bearer sk-live', 'x-custom': 'kept', 'x-twice': 'a, b' });
    expect(upstream.headers['x-drop-me']).toBeUndefined();
    expect(upstream.headers.te).toBeUndefined();
    expect(upstream.headers['x-cache-ttl']).toBeUndefined();
  });

  it('other routes: GET, DELETE, a 204 and an error status', async () => {
    up.answer((req) =>
      req.method === 'DELETE'
        ? { status: 204, headers: ['X-Deleted', 'yes'], body: [] }
        : req.url!.includes('missing')
          ? { status: 404, headers: ['Content-Type', 'application/json'], body: ['{"error":{"message":"no"}}'] }
          : { status: 200, headers: ['Content-Type', 'application/json', 'Content-Length', '13'], body: ['{"data":[1,2]}'.slice(0, 13)] },
    );
    const before = fast.fastPath.passed;
    expect((await both('GET', '/v1/models', AUTH)).response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect((await both('DELETE', '/v1/files/abc', AUTH)).response).toMatch(/^HTTP\/1\.1 204 No Content\r\n/);
    expect((await both('GET', '/v1/files/missing', AUTH)).response).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(fast.fastPath.passed).toBe(before + 3);
  });

  it('odd URLs, rarer methods and bodies of unknown length are left to the app', async () => {
    const before = fast.fastPath.passed;
    up.answer(() => ({ status: 200, headers: ['Content-Type', 'text/plain'], body: ['ok'] }));
    await both('GET', '/v1/a/../models', AUTH);
    await both('GET', '/v1/files%2Fx', AUTH);
    await both('GET', "/v1/models?q='x'", AUTH);
    await both('HEAD', '/v1/models', AUTH);
    await both('OPTIONS', '/v1/models', AUTH);
    await both('POST', '/v1/uploads', [...AUTH, ['Transfer-Encoding', 'chunked']], '5\r\nhello\r\n0\r\n\r\n');
    expect(fast.fastPath.passed).toBe(before);
  });

  it('an upstream that cannot be reached is the same 502 on both', async () => {
    const config = parseConfig({ port: '0', host: '127.0.0.1', upstream: 'http://127.0.0.1:9/v1', cache: 'false', 'log-level': 'silent' }, {});
    const opts = { embedder: bundledEmbedder(), logger: silentLogger };
    const [a, b] = await Promise.all([startReprise(config, opts), startReprise(config, { ...opts, fastPath: false })]);
    try {
      for (const [method, path, body] of [['GET', '/v1/models', ''], ['POST', '/v1/chat/completions', chatBody('hi')]] as const) {
        const fastAnswer = await exchange(a.url, method, path, AUTH, body);
        expect(fastAnswer).toMatch(/^HTTP\/1\.1 502 /);
        expect(fastAnswer).toContain('"code":"upstream_unavailable"');
        expect(fastAnswer).toBe(await exchange(b.url, method, path, AUTH, body));
      }
      expect(a.fastPath.passed + a.fastPath.bypassed).toBe(2);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('a client that goes away while the fast path looks its request up', () => {
  let h: Harness;
  /** the bundled model, 300 ms slower per call: time for the client to leave mid-lookup */
  let slow: Embedder;
  beforeAll(async () => {
    const inner = await bundledEmbedder();
    slow = { id: inner.id, dim: inner.dim, defaultThreshold: inner.defaultThreshold, embed: async (t) => (await new Promise((r) => setTimeout(r, 300)), inner.embed(t)) };
    h = await startHarness({}, { embedder: slow });
  });
  afterAll(() => h?.close());

  it('is not sent upstream, and an identical request after it is answered normally', async () => {
    const body = chatBody('Name three rivers in Poland, slowly.', { stream: true });
    const { hostname, port } = new URL(h.reprise.url);
    const socket = connect(Number(port), hostname);
    socket.on('error', () => {});
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-test-a\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 500));
    expect(h.up.count()).toBe(0);

    // Had the first gone upstream unaborted, it would lead the key's single-flight and this one would wait on it.
    const again = await exchange(h.reprise.url, 'POST', '/v1/chat/completions', AUTH, body);
    expect(again).toMatch(/^HTTP\/1\.1 200 /);
    expect(again).toContain('x-cache-status: MISS');
    expect(again).toContain('data: [DONE]');
    expect(h.up.count()).toBe(1);
  });
});

describe('aborts on the fast path', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ cache: 'false' });
  });
  afterAll(() => h?.close());

  it('cache off: a client that disconnects mid-stream aborts the upstream call', async () => {
    h.up.next({ chunkDelayMs: 200 });
    const controller = new AbortController();
    const stream = await h.client().chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Count slowly to fifty.' }], stream: true },
      { signal: controller.signal },
    );
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    controller.abort();
    await vi.waitFor(() => expect(h.up.aborted).toBe(1));
    expect(h.reprise.fastPath.bypassed).toBe(1);
  });

  it('other routes: a client that disconnects before the answer aborts the upstream call', async () => {
    h.up.reset();
    h.up.next({ delayMs: 5_000 });
    const req = request(`${h.reprise.url}/v1/slow-thing`, { method: 'POST', headers: { 'content-length': '2' } });
    req.on('error', () => {});
    req.end('{}');
    await vi.waitFor(() => expect(h.up.count()).toBe(1));
    req.destroy();
    await vi.waitFor(() => expect(h.up.aborted).toBe(1));
    expect(h.reprise.fastPath.passed).toBeGreaterThanOrEqual(1);
  });
});
