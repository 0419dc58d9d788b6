/** Tests handle: createHandler's route table, driven with hand-made request views and no front. */
import { describe, expect, it } from 'vitest';
import type { Embedder } from '../src/embed/types.js';
import { createHandler, type AppDeps } from '../src/handle.js';
import { TOO_LARGE, type HeaderList, type RequestView } from '../src/http/types.js';
import type { Outcome } from '../src/cache/outcome.js';
import type { SingleFlight } from '../src/cache/single-flight.js';
import { silentLogger } from '../src/observe/logger.js';
import { MemoryStore } from '../src/store/memory.js';
import type { UpstreamFetch } from '../src/upstream/types.js';
import { SyntheticEmbedder } from './helpers/synthetic-embedder.js';

const enc = new TextEncoder();
const BODY_LIMIT = 1024;
const CHAT_BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'how do i bake bread' }] });

/** A request view as a front would hand it over; counts how often its body was read. */
function view(method: string, url: string, headers: Array<[string, string]> = [], body: string | Uint8Array = '') {
  const bytes = typeof body === 'string' ? enc.encode(body) : body;
  const list: HeaderList = headers.map(([n, v]) => [n.toLowerCase(), v]);
  const v = {
    reads: 0,
    method,
    url,
    headers: {
      get: (name: string) => {
        const values = list.filter(([n]) => n === name.toLowerCase()).map(([, value]) => value);
        return values.length ? values.join(', ') : undefined;
      },
      list: () => list.map(([n, value]) => [n, value] as [string, string]),
    },
    async readBody(limit: number) {
      v.reads++;
      return bytes.byteLength > limit ? TOO_LARGE : bytes;
    },
  } satisfies RequestView & { reads: number };
  return v;
}

function setup(config: Partial<AppDeps['config']> = {}, more: Partial<Pick<AppDeps, 'shareStreams' | 'joinWaitMs'>> = {}) {
  const store = new MemoryStore();
  let loaded: Embedder | undefined;
  const upstreamCalls: unknown[] = [];
  const upstream: UpstreamFetch = async (req) => {
    upstreamCalls.push(req);
    throw new Error('the handler must not call upstream itself');
  };
  const handler = createHandler({
    config: { upstream: 'https://api.openai.com/v1', cacheEnabled: true, sharedCache: false, ttl: 3600, bodyLimit: BODY_LIMIT, ...config },
    store,
    embedder: () => loaded,
    upstream,
    logger: silentLogger,
    now: () => 1_700_000_000_000,
    ...more,
  });
  return {
    store,
    handler,
    upstreamCalls,
    load: () => (loaded = new SyntheticEmbedder()),
    handle: (v: RequestView) => handler.handle(v),
  };
}

type Replied = Extract<Outcome, { reply: unknown }>;

function replied(o: Outcome): Replied {
  if (!('reply' in o)) throw new Error(`expected a reply, got a ${o.kind}`);
  return o;
}

const json = (o: Outcome) => JSON.parse(String(replied(o).reply.body)) as Record<string, unknown>;
const header = (headers: HeaderList, name: string) => headers.find(([n]) => n === name)?.[1];

/** The outcome is a rejection with this status and OpenAI error code. */
function expectReject(o: Outcome, status: number, code: string) {
  expect(o.kind).toBe('reject');
  const r = replied(o).reply;
  expect(r.status).toBe(status);
  expect(header(r.headers, 'content-type')).toBe('application/json');
  const body = json(o);
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual({ message: expect.any(String), type: expect.any(String), param: expect.toSatisfy((p) => p === null || typeof p === 'string'), code });
}

function forwarded(o: Outcome) {
  if (o.kind !== 'forward') throw new Error(`expected a forward, got a ${o.kind}`);
  return o;
}

/** What the client would be told for an upstream 200, as cache headers. */
function cacheHeaders(o: Outcome): HeaderList {
  return forwarded(o)
    .exchange.head(200, [['content-type', 'application/json']])
    .headers.filter(([n]) => n.startsWith('x-cache-'));
}

describe('handle: Reprise\'s own routes', () => {
  it('GET /healthz is 503 until the embedder has loaded, then 200; HEAD has the same status and headers and no body', async () => {
    const s = setup();
    const before = replied(await s.handle(view('GET', '/healthz')));
    expect(before.kind).toBe('reply');
    expect(before.reply.status).toBe(503);
    expect(json(before)).toEqual({ status: 'loading', store: 'ready' });
    const headBefore = replied(await s.handle(view('HEAD', '/healthz')));
    expect(headBefore.reply).toEqual({ status: 503, headers: before.reply.headers, body: null });

    s.load();
    const after = replied(await s.handle(view('GET', '/healthz')));
    expect(after.reply.status).toBe(200);
    expect(json(after)).toEqual({ status: 'ok', embedder: 'synthetic-48', store: 'ready' });
    const headAfter = replied(await s.handle(view('HEAD', '/healthz')));
    expect(headAfter.reply).toEqual({ status: 200, headers: after.reply.headers, body: null });
    expect(s.upstreamCalls).toEqual([]);
  });

  it('GET /metrics is Prometheus text', async () => {
    const s = setup();
    const o = replied(await s.handle(view('GET', '/metrics')));
    expect(o.reply.status).toBe(200);
    expect(header(o.reply.headers, 'content-type')).toBe('text/plain; version=0.0.4');
    expect(String(o.reply.body)).toContain('# TYPE reprise_requests_total counter\n');
    // Before any request a counter with labels has no series; the faults by stage start at 0, so their rates exist.
    expect(String(o.reply.body)).toMatch(/^reprise_cache_faults_total\{stage="embed"\} 0$/m);
    expect(String(o.reply.body)).toContain('# TYPE reprise_request_duration_seconds histogram\n');
    expect(replied(await s.handle(view('HEAD', '/metrics'))).reply.body).toBeNull();
  });

  it('privateOps (the Worker): /metrics needs the admin token, and without one /metrics, /stats and the dashboard stay closed', async () => {
    const s = setup({ privateOps: true, adminToken: 'tok-ops' });
    expectReject(await s.handle(view('GET', '/metrics')), 401, 'invalid_admin_token');
    expect(replied(await s.handle(view('GET', '/metrics', [['authorization', 'Bearer tok-ops']]))).reply.status).toBe(200);
    const closed = setup({ privateOps: true });
    expectReject(await closed.handle(view('GET', '/metrics')), 401, 'invalid_admin_token');
    expectReject(await closed.handle(view('GET', '/stats')), 401, 'invalid_admin_token');
    expectReject(await closed.handle(view('GET', '/stats', [['authorization', 'Bearer ']])), 401, 'invalid_admin_token');
    const page = replied(await closed.handle(view('GET', '/dashboard')));
    expect(page.reply.status).not.toBe(200);
  });

  it('GET /stats is JSON with the metrics and the store\'s entry count', async () => {
    const s = setup();
    expect(json(await s.handle(view('GET', '/stats')))).toMatchObject({ entries: 0, stored: 0, upstreamCalls: 0 });
    await s.store.put({ id: 's.t', scope: 's', textKey: 't', text: 'q', response: {}, endpoint: 'chat', model: 'm', tenant: 'a', namespace: '', createdAt: Date.now(), expiresAt: Date.now() + 60_000 }, 60);
    const o = replied(await s.handle(view('GET', '/stats?x=1')));
    expect(o.reply.status).toBe(200);
    expect(header(o.reply.headers, 'content-type')).toBe('application/json');
    expect(json(o)).toMatchObject({ entries: 1, requests: { HIT: 0, MISS: 0, BYPASS: 0, ERROR: 0 } });
  });

  it('POST /healthz and GET /nope are 404 in OpenAI\'s error shape', async () => {
    const s = setup();
    expectReject(await s.handle(view('POST', '/healthz')), 404, 'not_found');
    expectReject(await s.handle(view('GET', '/nope')), 404, 'not_found');
    expectReject(await s.handle(view('GET', '/')), 404, 'not_found');
  });

  it('/admin/* is 404 with no admin token configured, whatever the bearer', async () => {
    const s = setup();
    expectReject(await s.handle(view('POST', '/admin/purge', [['authorization', 'Bearer anything']], '{"model":"m"}')), 404, 'not_found');
    expectReject(await s.handle(view('GET', '/admin')), 404, 'not_found');
  });

  it('/admin/* with a token configured is 401 without the right bearer, and works with it', async () => {
    const s = setup({ adminToken: 'admin-secret' });
    const purge = (auth?: string) => view('POST', '/admin/purge', auth === undefined ? [] : [['authorization', auth]], '{"model":"m"}');
    expectReject(await s.handle(purge('Bearer wrong')), 401, 'invalid_admin_token');
    expectReject(await s.handle(purge('Bearer admin-secre')), 401, 'invalid_admin_token');
    expectReject(await s.handle(purge('admin-secret')), 401, 'invalid_admin_token');
    expectReject(await s.handle(purge()), 401, 'invalid_admin_token');
    const ok = replied(await s.handle(purge('Bearer admin-secret')));
    expect(ok.reply.status).toBe(200);
    expect(json(ok)).toEqual({ deleted: 0 });
  });
});

describe('handle: /v1/ routes that are not cached', () => {
  it('go upstream: a forward to the configured upstream, told BYPASS / not-cacheable-route', async () => {
    const s = setup();
    s.load();
    const get = forwarded(await s.handle(view('GET', '/v1/models?limit=2', [['authorization', 'Bearer sk-1'], ['x-cache-ttl', '5']])));
    expect(get.call).toMatchObject({ url: 'https://api.openai.com/v1/models?limit=2', origin: 'https://api.openai.com', path: '/v1/models?limit=2', method: 'GET', body: null });
    expect(get.call.headers).toEqual({ authorization: 'Bearer sk-1' });
    expect(cacheHeaders(get)).toEqual([['x-cache-status', 'BYPASS'], ['x-cache-reason', 'not-cacheable-route']]);
    expect(get.log).toEqual({ cache: 'BYPASS', reason: 'not-cacheable-route' });

    const post = view('POST', '/v1/files', [['content-type', 'multipart/form-data; boundary=x']], 'data');
    const o = forwarded(await s.handle(post));
    expect(o.call).toMatchObject({ url: 'https://api.openai.com/v1/files', method: 'POST', body: 'client', bodyLimit: BODY_LIMIT });
    expect(post.reads).toBe(0); // the front streams the client's body: the handler does not read it
    expect(cacheHeaders(o)).toEqual([['x-cache-status', 'BYPASS'], ['x-cache-reason', 'not-cacheable-route']]);
    expect(s.upstreamCalls).toEqual([]);
  });

  it('before the embedder has loaded too, and with caching off', async () => {
    for (const s of [setup(), setup({ cacheEnabled: false })]) {
      const o = forwarded(await s.handle(view('GET', '/v1/models')));
      expect(o.call.url).toBe('https://api.openai.com/v1/models');
      expect(cacheHeaders(o)).toEqual([['x-cache-status', 'BYPASS'], ['x-cache-reason', 'not-cacheable-route']]);
    }
  });

  it('the path goes upstream as a URL parser reads it', async () => {
    const s = setup();
    const url = async (u: string) => forwarded(await s.handle(view('GET', u))).call.url;
    expect(await url('/v1/./models')).toBe('https://api.openai.com/v1/models');
    expect(await url('/v1/a/%2E%2e/models')).toBe('https://api.openai.com/v1/models');
    expect(await url('/v1')).toBe('https://api.openai.com/v1');
    // %2e%2e is "..": "/v1/%2e%2e/x" is "/x", which is not under /v1/ and does not exist.
    expect(new URL('http://h/v1/%2e%2e/x').pathname).toBe('/x');
    expectReject(await s.handle(view('GET', '/v1/%2e%2e/x')), 404, 'not_found');
    expectReject(await s.handle(view('GET', '/v1/../admin/purge')), 404, 'not_found');
  });

  it('a POST to a cached endpoint spelled with dot segments or escapes is that endpoint, as a URL parser reads it (on every front)', async () => {
    const s = setup();
    s.load();
    for (const target of ['/v1/./chat/completions', '/v1/x/../chat/completions', 'http://reprise.example/v1/chat/completions']) {
      const o = forwarded(await s.handle(view('POST', target, [['content-type', 'application/json']], CHAT_BODY)));
      expect(o.call.url, target).toBe('https://api.openai.com/v1/chat/completions');
      expect(cacheHeaders(o), target).toEqual([['x-cache-status', 'MISS']]);
      o.exchange.abort(new Error('not sent'));
    }
  });
});

describe('handle: which API a request speaks: its upstream and the shape of its errors, decided once', () => {
  const ANTHROPIC = { anthropicUpstream: 'https://anthropic.example/v1' };

  it('Anthropic routes, and uncached routes an Anthropic SDK calls, go to the Anthropic upstream; the rest to OpenAI', async () => {
    const s = setup(ANTHROPIC);
    s.load();
    const to = async (method: string, url: string, headers: HeaderList = []) => {
      const o = forwarded(await s.handle(view(method, url, headers, method === 'POST' ? '{}' : '')));
      o.exchange.abort(new Error('not sent'));
      return o.call.url;
    };
    expect(await to('POST', '/v1/messages/count_tokens')).toBe('https://anthropic.example/v1/messages/count_tokens');
    expect(await to('GET', '/v1/./messages/batches')).toBe('https://anthropic.example/v1/messages/batches');
    expect(await to('GET', '/v1/models', [['anthropic-version', '2023-06-01']])).toBe('https://anthropic.example/v1/models');
    expect(await to('GET', '/v1/models')).toBe('https://api.openai.com/v1/models');
    // A cached OpenAI route stays OpenAI's whatever its headers say.
    s.load();
    const chat = forwarded(await s.handle(view('POST', '/v1/chat/completions', [['anthropic-version', '2023-06-01'], ['content-type', 'application/json']], CHAT_BODY)));
    chat.exchange.abort(new Error('not sent'));
    expect(chat.call.url).toBe('https://api.openai.com/v1/chat/completions');
  });

  it("Reprise's own errors on Anthropic's routes are in Anthropic's shape, spelled any way a URL parser reads", async () => {
    const s = setup(ANTHROPIC);
    s.load();
    const anthropicShape = (o: Outcome, status: number, type: string) => {
      expect(replied(o).reply.status).toBe(status);
      expect(json(o)).toEqual({ type: 'error', error: { type, message: expect.any(String) } });
    };
    const big = [['content-length', String(BODY_LIMIT + 1)]] as HeaderList;
    anthropicShape(await s.handle(view('POST', '/v1/messages', big, '{}')), 413, 'request_too_large');
    anthropicShape(await s.handle(view('POST', 'http://reprise.example/v1/messages', big, '{}')), 413, 'request_too_large');
    anthropicShape(await s.handle(view('POST', '/v1/complete', [...big, ['anthropic-version', '2023-06-01']], '{}')), 413, 'request_too_large');
    anthropicShape(await s.handle(view('POST', '/v1/messages', [['content-type', 'application/json']], '{"model":"claude"}')), 400, 'invalid_request_error');
    expectReject(await s.handle(view('POST', '/v1/files', big, '{}')), 413, 'request_too_large');
  });
});

describe('handle: the body limit and bad input on /v1/', () => {
  it('a declared Content-Length over bodyLimit is 413 before the body is read, on cached and other routes', async () => {
    const s = setup();
    s.load();
    for (const url of ['/v1/chat/completions', '/v1/files', '/v1/embeddings']) {
      const v = view('POST', url, [['content-length', String(BODY_LIMIT + 1)]], CHAT_BODY);
      expectReject(await s.handle(v), 413, 'request_too_large');
      expect(v.reads).toBe(0);
    }
    // At the limit it is let through.
    const atLimit = await s.handle(view('POST', '/v1/files', [['content-length', String(BODY_LIMIT)]]));
    expect(atLimit.kind).toBe('forward');
  });

  it('a cached-endpoint body over bodyLimit without a Content-Length is 413 once read', async () => {
    const s = setup();
    s.load();
    const v = view('POST', '/v1/chat/completions', [], new Uint8Array(BODY_LIMIT + 1));
    expectReject(await s.handle(v), 413, 'request_too_large');
    expect(v.reads).toBe(1);
  });

  it('POST /v1/chat/completions with invalid JSON is 400 invalid_json, with caching on or off, loaded or not', async () => {
    const loaded = setup();
    loaded.load();
    for (const s of [loaded, setup(), setup({ cacheEnabled: false })]) {
      expectReject(await s.handle(view('POST', '/v1/chat/completions', [['content-type', 'application/json']], '{"model": ')), 400, 'invalid_json');
    }
  });

  it('a JSON body that is not a valid chat request is 400 naming the parameter', async () => {
    const s = setup();
    s.load();
    const o = await s.handle(view('POST', '/v1/chat/completions', [], JSON.stringify({ model: 'gpt-4o-mini' })));
    expectReject(o, 400, 'missing_required_parameter');
    expect((json(o).error as { param: string }).param).toBe('messages');
  });
});

describe('handle: cached endpoints that bypass the cache', () => {
  it('with caching off, a valid chat body is forwarded as it came, told BYPASS / disabled', async () => {
    const s = setup({ cacheEnabled: false });
    s.load();
    const o = forwarded(await s.handle(view('POST', '/v1/chat/completions?x=1', [['authorization', 'Bearer sk-1'], ['content-type', 'application/json']], CHAT_BODY)));
    expect(o.call).toMatchObject({ url: 'https://api.openai.com/v1/chat/completions?x=1', method: 'POST' });
    expect(new TextDecoder().decode(o.call.body as Uint8Array)).toBe(CHAT_BODY);
    expect(o.call.headers).toEqual({ authorization: 'Bearer sk-1', 'content-type': 'application/json' });
    expect(cacheHeaders(o)).toEqual([['x-cache-status', 'BYPASS'], ['x-cache-reason', 'disabled']]);
    expect(s.handler.metrics.snapshot().requests.BYPASS).toBe(1);
    expect(s.upstreamCalls).toEqual([]);
  });

  it('before the embedder has loaded, a valid chat body is forwarded, told BYPASS / warming-up', async () => {
    const s = setup();
    const o = forwarded(await s.handle(view('POST', '/v1/chat/completions', [['content-type', 'application/json']], CHAT_BODY)));
    expect(o.call.url).toBe('https://api.openai.com/v1/chat/completions');
    expect(cacheHeaders(o)).toEqual([['x-cache-status', 'BYPASS'], ['x-cache-reason', 'warming-up']]);
    expect(o.log).toEqual({ cache: 'BYPASS', reason: 'warming-up' });
    expect(s.upstreamCalls).toEqual([]);
  });

  it('once loaded, the same request is a MISS that goes upstream with identity encoding', async () => {
    const s = setup();
    s.load();
    const o = forwarded(await s.handle(view('POST', '/v1/chat/completions', [['content-type', 'application/json'], ['accept-encoding', 'gzip']], CHAT_BODY)));
    expect(o.call.headers['accept-encoding']).toBe('identity');
    expect(cacheHeaders(o)).toEqual([['x-cache-status', 'MISS']]);
  });
});

describe('handle: where streams cannot be shared (shareStreams false, the Worker)', () => {
  const auth: Array<[string, string]> = [['authorization', 'Bearer sk-one'], ['content-type', 'application/json']];
  const answer = JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'Knead, rise, bake.' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } });

  it("a joiner waits for the leader's stored answer and is served it as a hit, never reading the leader's bytes", async () => {
    const s = setup({}, { shareStreams: false });
    s.load();
    const leader = forwarded(await s.handle(view('POST', '/v1/chat/completions', auth, CHAT_BODY)));
    const joining = s.handle(view('POST', '/v1/chat/completions', auth, CHAT_BODY));
    leader.exchange.head(200, [['content-type', 'application/json']]);
    leader.exchange.chunk(enc.encode(answer));
    await leader.exchange.end();
    const joined = replied(await joining);
    expect(joined.kind).toBe('hit');
    expect(JSON.parse(String(new TextDecoder().decode(joined.reply.body as Uint8Array)))).toMatchObject({ choices: [{ message: { content: 'Knead, rise, bake.' } }] });
  });

  it('a joiner whose wait runs out goes upstream itself, once', async () => {
    const s = setup({}, { shareStreams: false, joinWaitMs: 20 });
    s.load();
    const leader = forwarded(await s.handle(view('POST', '/v1/chat/completions', auth, CHAT_BODY)));
    const alone = await s.handle(view('POST', '/v1/chat/completions', auth, CHAT_BODY));
    expect(alone.kind).toBe('forward');
    leader.exchange.abort(new Error('done with the test'));
  });

  it('keeps no bytes for joiners (where streams are shared, it does)', async () => {
    for (const shareStreams of [false, true]) {
      const s = setup({}, { shareStreams });
      s.load();
      const leader = forwarded(await s.handle(view('POST', '/v1/chat/completions', auth, CHAT_BODY)));
      leader.exchange.head(200, [['content-type', 'application/json']]);
      leader.exchange.chunk(enc.encode(answer));
      const kept = (s.handler.metrics.flights as unknown as SingleFlight).replayBytes;
      expect(kept > 0).toBe(shareStreams);
      await leader.exchange.end();
    }
  });
});
