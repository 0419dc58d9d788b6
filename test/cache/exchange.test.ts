/** Tests cache/exchange and cache/cache-headers: a forwarded answer's head, its sharing with joiners, and storing it. */
import { describe, expect, it, vi } from 'vitest';
import { Backfill } from '../../src/cache/backfill.js';
import { randomUnit, rng } from '../helpers/vectors.js';
import { sinkFor } from '../helpers/tap-sink.js';
import { withCacheInfo, type CacheInfo } from '../../src/cache/cache-headers.js';
import { createExchange, type ExchangeDeps, type MissPlan } from '../../src/cache/exchange.js';
import { buildKey, exactKeyOf } from '../../src/cache/key.js';
import { readPolicy } from '../../src/cache/policy.js';
import { SingleFlight } from '../../src/cache/single-flight.js';
import { Tenants } from '../../src/cache/tenant.js';
import type { HeaderList } from '../../src/http/types.js';
import type { ChatCompletion } from '../../src/openai/completion.js';
import { completionToFrames } from '../../src/openai/completion-to-stream.js';
import { UpstreamError } from '../../src/openai/errors.js';
import { parseRequest } from '../../src/openai/request.js';
import { CHAT } from '../../src/openai/wire.js';
import { silentLogger } from '../../src/observe/logger.js';
import { Metrics } from '../../src/observe/metrics.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SyntheticEmbedder } from '../helpers/synthetic-embedder.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const NOW = 1_700_000_000_000;
const now = () => NOW;

const ANSWER: ChatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Bake it at 230 °C — 😀' }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
  system_fingerprint: null,
};
const BODY = enc.encode(JSON.stringify(ANSWER));
const JSON_HEAD: HeaderList = [['content-type', 'application/json']];


/** A miss plan built as the pipeline builds one: parsed request, policy from headers, key, and a single-flight lead. */
/** A leader's miss: the lookup embedded the query, so its vector is in the plan (unless `vector: false`, as for no-cache). */
function setup(requestHeaders: Record<string, string> = {}, { vector = true } = {}) {
  const store = new MemoryStore({ now });
  const metrics = new Metrics();
  const deps: ExchangeDeps = { store, metrics, logger: silentLogger, now };
  const embedder = new SyntheticEmbedder();
  const headers = new Headers({ authorization: 'Bearer sk-test', ...requestHeaders });
  const parsed = parseRequest('chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'how do i bake bread' }] });
  const policy = readPolicy(headers, 3600);
  const tenant = new Tenants({ secret: new Uint8Array(32) }).of(headers);
  const key = buildKey(parsed, { tenant, namespace: policy.namespace, embedderId: embedder.id });
  const flights = new SingleFlight();
  const flightKey = exactKeyOf(key);
  const lead = flights.lead(flightKey, 'json');
  const queryVector = randomUnit(48, rng(1));
  embedder.known.set(key.text, queryVector);
  const plan: MissPlan = { wire: CHAT, parsed, key, tenant, policy, embedder, lead, ...(vector && { vector: queryVector }) };
  return { store, metrics, deps, embedder, plan, key, flights, flightKey, flight: lead.flight };
}

const MISS: CacheInfo = { status: 'MISS' };

describe('withCacheInfo', () => {
  it('sets X-Cache-Status, and X-Cache-Reason only when there is a reason, replacing any x-cache-* already there', () => {
    const upstream: HeaderList = [['content-type', 'application/json'], ['x-cache-status', 'HIT'], ['x-cache-match', 'exact']];
    expect(withCacheInfo(upstream, { status: 'MISS' })).toEqual([['content-type', 'application/json'], ['x-cache-status', 'MISS']]);
    expect(withCacheInfo(upstream, { status: 'BYPASS', reason: 'no-store' })).toEqual([
      ['content-type', 'application/json'],
      ['x-cache-status', 'BYPASS'],
      ['x-cache-reason', 'no-store'],
    ]);
    // The input list is left as it was.
    expect(upstream).toHaveLength(3);
  });
});

describe('createExchange: head', () => {
  const UPSTREAM: HeaderList = [
    ['content-type', 'application/json'],
    ['connection', 'keep-alive, x-internal-trace'],
    ['keep-alive', 'timeout=5'],
    ['transfer-encoding', 'chunked'],
    ['content-length', '123'],
    ['x-internal-trace', 'abc'],
    ['x-cache-status', 'HIT'],
    ['x-cache-similarity', '0.99'],
    ['set-cookie', 'a=1; Path=/'],
    ['x-request-id', 'req_1'],
    ['set-cookie', 'b=2; Path=/'],
  ];

  it('drops hop-by-hop headers, names listed in Connection and upstream x-cache-*, keeps Set-Cookie apart, adds the cache status', () => {
    const { deps, plan } = setup();
    const head = createExchange(deps, MISS, plan).head(200, UPSTREAM);
    expect(head).toEqual({
      status: 200,
      headers: [
        ['content-type', 'application/json'],
        ['set-cookie', 'a=1; Path=/'],
        ['x-request-id', 'req_1'],
        ['set-cookie', 'b=2; Path=/'],
        ['x-cache-status', 'MISS'],
      ],
    });
  });

  it('adds X-Cache-Reason when the info has one, also without a miss plan', () => {
    const { deps } = setup();
    const head = createExchange(deps, { status: 'BYPASS', reason: 'not-cacheable-route' }).head(404, UPSTREAM);
    expect(head.status).toBe(404);
    expect(head.headers.filter(([n]) => n.startsWith('x-cache-'))).toEqual([
      ['x-cache-status', 'BYPASS'],
      ['x-cache-reason', 'not-cacheable-route'],
    ]);
  });

  it('joiners learn the head after hop-by-hop hygiene, without the leader\'s cache status; their own replaces upstream\'s', async () => {
    const { deps, plan, flight } = setup();
    createExchange(deps, MISS, plan).head(200, UPSTREAM);
    const d = await flight.decided;
    expect(d.kind).toBe('upstream');
    if (d.kind !== 'upstream') return;
    expect(d.status).toBe(200);
    const names = d.headers.map(([n]) => n);
    for (const gone of ['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'x-internal-trace']) expect(names).not.toContain(gone);
    expect(d.headers).not.toContainEqual(['x-cache-status', 'MISS']);
    expect(d.headers.filter(([n]) => n === 'set-cookie')).toEqual([['set-cookie', 'a=1; Path=/'], ['set-cookie', 'b=2; Path=/']]);
    // What the pipeline gives a joiner: its own cache info, none of upstream's.
    expect(withCacheInfo(d.headers, { status: 'MISS', reason: 'coalesced' }).filter(([n]) => n.startsWith('x-cache-'))).toEqual([
      ['x-cache-status', 'MISS'],
      ['x-cache-reason', 'coalesced'],
    ]);
  });
});

describe('createExchange: storing', () => {
  it('a 200 JSON answer is stored on end; the flight resolves with the entry and its joiners got every byte', async () => {
    const { store, metrics, deps, plan, key, flights, flightKey, flight, embedder } = setup();
    const x = createExchange(deps, MISS, plan);
    const early = sinkFor(flight.subscribe()!);
    x.head(200, JSON_HEAD);
    x.chunk(BODY.subarray(0, 20));
    const late = sinkFor(flight.subscribe()!);
    x.chunk(BODY.subarray(20, 41)); // inside the multi-byte characters
    x.chunk(BODY.subarray(41));
    expect(store.size()).toBe(0);
    await x.end();

    expect(store.size()).toBe(1);
    expect(metrics.snapshot().stored).toBe(1);
    expect(metrics.snapshot().notStored).toEqual({});
    const entry = await flight.result;
    expect(entry).toBeDefined();
    expect(await store.getExact(key.scope, key.textKey)).toEqual(entry);
    expect(entry).toMatchObject({ scope: key.scope, textKey: key.textKey, text: 'how do i bake bread', response: ANSWER, endpoint: 'chat', model: 'gpt-4o-mini', tenant: plan.tenant, namespace: '', createdAt: NOW, expiresAt: NOW + 3_600_000 });
    expect(entry!.vector).toEqual((await embedder.embed([key.text]))[0]);

    await Promise.all([early.done, late.done]);
    const whole = dec.decode(BODY);
    expect(early.text()).toBe(whole);
    expect(late.text()).toBe(whole);
    expect(early.ended()).toBe('end');
    expect(late.ended()).toBe('end');
    expect(flights.get(flightKey)).toBeUndefined();
  });

  it('without the query\'s vector (a no-cache request), the answer is stored exact-only at once and embedded later by the backfill', async () => {
    const { store, deps, plan, metrics, embedder, key } = setup({ 'cache-control': 'no-cache' }, { vector: false });
    const backfill = new Backfill({ store, metrics, logger: silentLogger, now, pollMs: 1 });
    const x = createExchange({ ...deps, backfill }, { status: 'BYPASS', reason: 'no-cache' }, plan);
    x.head(200, JSON_HEAD);
    x.chunk(BODY);
    await x.end();
    // Stored before the client's response ends, without waiting for an embedding: exact hits work at once.
    const stored = await store.getExact(key.scope, key.textKey);
    expect(stored).toBeDefined();
    expect(stored!.vector).toBeUndefined();
    // Then, with the embedder idle, the vector is filled in.
    await vi.waitFor(async () => expect((await store.getExact(key.scope, key.textKey))!.vector).toEqual((await embedder.embed([key.text]))[0]));
    expect(metrics.snapshot().backfill).toMatchObject({ queued: 1, done: 1, backlog: 0 });
  });

  it('a 200 event stream that reached [DONE] is stored as the assembled completion', async () => {
    const { store, metrics, deps, plan, key, flight } = setup();
    const x = createExchange(deps, MISS, plan);
    const stream = enc.encode(completionToFrames(ANSWER, true).join(''));
    x.head(200, [['content-type', 'text/event-stream; charset=utf-8']]);
    for (let i = 0; i < stream.length; i += 7) x.chunk(stream.subarray(i, i + 7));
    await x.end();
    expect(metrics.snapshot().stored).toBe(1);
    expect((await store.getExact(key.scope, key.textKey))?.response).toEqual(ANSWER);
    expect((await flight.result)?.response).toEqual(ANSWER);
  });

  it('a 200 event stream cut before [DONE] is not stored (incomplete-stream)', async () => {
    const { store, metrics, deps, plan } = setup();
    const x = createExchange(deps, MISS, plan);
    x.head(200, [['content-type', 'text/event-stream']]);
    x.chunk(enc.encode(completionToFrames(ANSWER, true).slice(0, -1).join('')));
    await x.end();
    expect(store.size()).toBe(0);
    expect(metrics.snapshot().notStored).toEqual({ 'incomplete-stream': 1 });
  });

  it('uses the vector the lookup computed instead of embedding again', async () => {
    const { deps, plan, flight } = setup();
    const vector = new Float32Array(48).fill(1 / Math.sqrt(48));
    const x = createExchange(deps, MISS, { ...plan, vector });
    x.head(200, JSON_HEAD);
    x.chunk(BODY);
    await x.end();
    expect((await flight.result)!.vector).toBe(vector);
  });

  it('a 503 answer is not stored (status-503); joiners still get its bytes and the flight ends', async () => {
    const { store, metrics, deps, plan, flights, flightKey, flight } = setup();
    const x = createExchange(deps, MISS, plan);
    const joiner = sinkFor(flight.subscribe()!);
    const error = JSON.stringify({ error: { message: 'overloaded', type: 'server_error', param: null, code: null } });
    x.head(503, JSON_HEAD);
    x.chunk(enc.encode(error));
    await x.end();
    expect(store.size()).toBe(0);
    expect(metrics.snapshot().stored).toBe(0);
    expect(metrics.snapshot().notStored).toEqual({ 'status-503': 1 });
    expect(await flight.result).toBeUndefined();
    await joiner.done;
    expect(joiner.text()).toBe(error);
    expect(flights.get(flightKey)).toBeUndefined();
  });

  it('a no-store request (Cache-Control: no-store) is not stored (no-store), and the flight ends', async () => {
    const { store, metrics, deps, plan, flights, flightKey, flight } = setup({ 'cache-control': 'no-store' });
    expect(plan.policy.write).toBe(false);
    const x = createExchange(deps, { status: 'BYPASS', reason: 'no-store' }, plan);
    x.head(200, JSON_HEAD);
    x.chunk(BODY);
    await x.end();
    expect(store.size()).toBe(0);
    expect(metrics.snapshot().notStored).toEqual({ 'no-store': 1 });
    expect(await flight.result).toBeUndefined();
    expect(flights.get(flightKey)).toBeUndefined();
  });

  it('a 200 whose body is not a complete answer is not stored, with the capture reason', async () => {
    const { store, metrics, deps, plan, flights, flightKey } = setup();
    const x = createExchange(deps, MISS, plan);
    x.head(200, JSON_HEAD);
    x.chunk(BODY.subarray(0, BODY.length - 2));
    await x.end();
    expect(store.size()).toBe(0);
    expect(metrics.snapshot().notStored).toEqual({ 'invalid-json': 1 });
    expect(flights.get(flightKey)).toBeUndefined();
  });

  it('abort() mid-body stores nothing (aborted); joiners see the stream fail and the flight ends', async () => {
    const { store, metrics, deps, plan, flights, flightKey, flight } = setup();
    const x = createExchange(deps, MISS, plan);
    const joiner = sinkFor(flight.subscribe()!);
    x.head(200, JSON_HEAD);
    x.chunk(BODY.subarray(0, 30));
    const reason = new Error('upstream reset');
    x.abort(reason);
    // A later end (the front's stream closing) changes nothing.
    await x.end();
    expect(store.size()).toBe(0);
    expect(metrics.snapshot().stored).toBe(0);
    expect(metrics.snapshot().notStored).toEqual({ aborted: 1 });
    expect(await flight.result).toBeUndefined();
    await joiner.done;
    expect(joiner.ended()).toEqual({ error: reason });
    expect(flights.get(flightKey)).toBeUndefined();
  });

  it('error() before any head stores nothing, counts no stored answer, and ends the flight', async () => {
    const { store, metrics, deps, plan, flights, flightKey, flight } = setup();
    const x = createExchange(deps, MISS, plan);
    const joiner = sinkFor(flight.subscribe()!);
    const reply = x.error(new Error('ECONNREFUSED'));
    expect(reply.status).toBe(500);
    await x.end();
    expect(store.size()).toBe(0);
    expect(metrics.snapshot().stored).toBe(0);
    expect(metrics.snapshot().notStored).toEqual({});
    expect(await flight.decided).toEqual({ kind: 'none' });
    expect(await flight.result).toBeUndefined();
    await joiner.done;
    expect(joiner.ended()).toMatchObject({ error: expect.any(Error) });
    expect(flights.get(flightKey)).toBeUndefined();
  });

  it('error(UpstreamError) is an OpenAI-shaped error reply with its status and the cache status', () => {
    const { deps, plan } = setup();
    const reply = createExchange(deps, MISS, plan).error(new UpstreamError('Upstream did not answer in time.', 504, 'upstream_timeout'));
    expect(reply.status).toBe(504);
    expect(reply.headers).toEqual([['content-type', 'application/json'], ['x-cache-status', 'MISS']]);
    expect(JSON.parse(String(reply.body))).toEqual({ error: { message: 'Upstream did not answer in time.', type: 'upstream_error', param: null, code: 'upstream_timeout' } });

    const bypass = createExchange(deps, { status: 'ERROR', reason: 'embed' }).error(new UpstreamError('Upstream unreachable.'));
    expect(bypass.status).toBe(502);
    expect(bypass.headers).toEqual([['content-type', 'application/json'], ['x-cache-status', 'ERROR'], ['x-cache-reason', 'embed']]);
    expect(JSON.parse(String(bypass.body)).error.code).toBe('upstream_unavailable');
  });

  it('an exchange without a miss plan (a bypass) stores nothing and counts nothing in notStored', async () => {
    const { store, metrics, deps } = setup();
    const ok = createExchange(deps, { status: 'BYPASS', reason: 'disabled' });
    ok.head(200, JSON_HEAD);
    ok.chunk(BODY);
    await ok.end();
    const failed = createExchange(deps, { status: 'BYPASS', reason: 'disabled' });
    failed.head(503, JSON_HEAD);
    await failed.end();
    const aborted = createExchange(deps, { status: 'BYPASS', reason: 'disabled' });
    aborted.head(200, JSON_HEAD);
    aborted.chunk(BODY.subarray(0, 5));
    aborted.abort(new Error('client gone'));
    createExchange(deps, { status: 'BYPASS', reason: 'disabled' }).error(new Error('refused'));
    expect(store.size()).toBe(0);
    expect(metrics.snapshot().stored).toBe(0);
    expect(metrics.snapshot().notStored).toEqual({});
  });
});
