/**
 * @module cache/pipeline: the path of a request to a cached endpoint (DESIGN: "One request's path"):
 *
 *   read body ─► policy ─► key ─► exact lookup ──hit──────────────────────────────────────► hit
 *                                   │ miss
 *                                   ├─ exact key in flight? ──yes─────────────────────────► join (or its hit)
 *                                   ▼
 *                     lead the flight ─► embed ─► search in scope ─► verify ──────────────► hit
 *                                   │ miss
 *                                   ▼
 *                     forward (leader) ─► exchange: to the client as it arrives, stored on a clean end
 *
 * It returns an Outcome and never writes a response. A fault in the cache fails open: the request goes upstream
 * with X-Cache-Status: ERROR. Bad input throws a RepriseError, which the caller turns into a reject.
 */
import type { Embedder } from '../embed/types.js';
import { TOO_LARGE, type RequestView } from '../http/types.js';
import { brokenStreamTail, PayloadTooLargeError } from '../openai/errors.js';
import { parseJson } from '../openai/request.js';
import type { Logger } from '../observe/logger.js';
import type { FaultStage, Metrics } from '../observe/metrics.js';
import type { Entry, Store } from '../store/types.js';
import { upstreamCall, type UpstreamBase } from '../upstream/call.js';
import { upstreamRequestHeaders } from '../upstream/headers.js';
import { withCacheInfo, type CacheInfo } from './cache-headers.js';
import type { ErrorBudget } from './error-budget.js';
import { createExchange, type ExchangeDeps, type MissPlan, type Timing } from './exchange.js';
import { answerForm, hitReply, type AnswerForm } from './hit-reply.js';
import type { PairJudge } from './judge.js';
import { buildKey, exactKeyOf, type CacheKey } from './key.js';
import { KeyDepthError, keyTreeOf } from './key-json.js';
import { exactLookup, fresh, semanticLookup, type Exploration, type Lookup } from './lookup.js';
import type { Outcome } from './outcome.js';
import { readPolicy, type CachePolicy } from './policy.js';
import type { RawExact } from './raw-exact.js';
import type { Flight, SingleFlight } from './single-flight.js';
import type { Tenants } from './tenant.js';
import type { LoadedVerifier } from './verify.js';
import type { Release, UpstreamSlots } from './upstream-slots.js';
import type { ParsedRequest, UpstreamName, WireApi } from './wire.js';

/** What the cached path works with; built once per process (handle.ts). */
export interface PipelineContext extends ExchangeDeps {
  store: Store;
  /** undefined until the embedder has loaded; until then requests pass through */
  embedder: () => Embedder | undefined;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  cacheEnabled: boolean;
  sharedCache: boolean;
  /** default seconds an answer is kept */
  ttl: number;
  /** operator's threshold; undefined = the verifier's floor, or the embedder's default without one */
  threshold?: number;
  bodyLimit: number;
  /** where each API's requests go (--upstream, --anthropic-upstream) */
  bases: Readonly<Record<UpstreamName, UpstreamBase>>;
  flights: SingleFlight;
  raw: RawExact;
  /** the limit on concurrent upstream calls */
  slots: UpstreamSlots;
  /** hex SHA-256 of a string, for cache keys @default pure JS */
  hashText?: (text: string) => string;
  /** ms an embedding may wait to start before the lookup skips it (--embed-wait); undefined = no bound */
  embedWaitMs?: number;
  /** undefined until the tenant secret is known (fetched from Redis); until then requests pass through */
  tenants: () => Tenants | undefined;
  /** the learned verifier for an embedder id, when it is switched on and one ships */
  verifierFor: (embedderId: string) => LoadedVerifier | undefined;
  budget?: ErrorBudget;
  judge?: { judge: PairJudge; band: number };
  /** false: joiners wait for the leader's stored answer instead of sharing its bytes (AppDeps.shareStreams) @default true */
  shareStreams?: boolean;
  /** with shareStreams false: ms a joiner waits for that answer @default 30000 */
  joinWaitMs?: number;
}

/** Everything one request carries down the path once it is keyed. */
interface Keyed {
  view: RequestView;
  wire: WireApi;
  body: Uint8Array;
  parsed: ParsedRequest;
  policy: CachePolicy;
  tenant: string;
  key: CacheKey;
  form: AnswerForm;
  embedder: Embedder;
}

/** How many times a request looks for a flight to join before it goes upstream on its own. */
const JOIN_ATTEMPTS = 3;

const decoder = new TextDecoder();

/** The body validated for the wire: bad input is a 400 whether or not the cache is used. */
function parseBody(wire: WireApi, text: string): ParsedRequest {
  return wire.parse(parseJson(text));
}

export async function cachedPath(cx: PipelineContext, wire: WireApi, view: RequestView): Promise<Outcome> {
  cx.backfill?.touch();
  const body = await view.readBody(cx.bodyLimit);
  if (body === TOO_LARGE) throw new PayloadTooLargeError(cx.bodyLimit);
  const policy = cx.cacheEnabled ? readPolicy(view.headers, cx.ttl) : undefined;
  const embedder = cx.embedder();
  const tenants = cx.tenants();
  if (!policy || !embedder || !tenants || (!policy.read && !policy.write)) {
    const { model } = parseBody(wire, decoder.decode(body));
    const reason = !policy ? 'disabled' : !embedder || !tenants ? 'warming-up' : policy.reason;
    return bypass(cx, wire, view, body, { status: 'BYPASS', ...(reason && { reason }) }, model);
  }

  // The query goes upstream (a version, a deployment, a key): it is part of the tenant's credentials and the scope.
  const q = view.url.indexOf('?');
  const query = q < 0 ? '' : view.url.slice(q + 1);
  const tenant = tenants.of(view.headers, query);
  const headers = scopeHeaders(wire, view);
  // A body seen before under the same target, scoped headers, tenant and namespace: its key is known, so no parse is
  // needed to hit. (A body the wire bypasses is never learned, so it never gets here.)
  const route = headers ? `${view.url}\n${JSON.stringify(headers)}` : view.url;
  const raw = policy.read ? cx.raw.key(route, tenant, policy.namespace, embedder.id, body) : undefined;
  const known = raw === undefined ? undefined : cx.raw.get(raw);
  if (known) {
    const found = await exactLookup(cx.store, known, policy, cx.now);
    if (found.kind === 'hit') return hit(cx, wire, found, known.form, view, body);
    if (found.kind === 'fault') return fault(cx, wire, view, body, found, 'unknown');
  }

  const text = decoder.decode(body);
  const parsed = parseBody(wire, text);
  const skip = wire.bypass?.(parsed);
  if (skip) return bypass(cx, wire, view, body, { status: 'BYPASS', reason: skip }, parsed.model);
  let key: CacheKey;
  try {
    key = buildKey(
      { endpoint: parsed.endpoint, body: keyTreeOf(text) as Record<string, unknown>, split: parsed.split },
      { tenant, namespace: policy.namespace, embedderId: embedder.id, query, ...(headers && { headers }), ...(embedder.inputLength && { inputLength: (t: string) => embedder.inputLength!(t) }), ...(embedder.exactOnly && { exactOnly: true }), ...(cx.hashText && { hash: cx.hashText }) },
    );
  } catch (error) {
    // A body valid but too deeply nested to key is forwarded uncached (a duplicate member throws a 400 instead).
    if (error instanceof KeyDepthError) return fault(cx, wire, view, body, { stage: 'key', error }, parsed.model);
    throw error;
  }
  const form = answerForm(parsed, wire);
  if (raw !== undefined) cx.raw.learn(raw, key, form);
  const k: Keyed = { view, wire, body, parsed, policy, tenant, key, form, embedder };
  // no-cache, max-age=0: not served from the cache, but the fresh answer is stored in place of the old one.
  if (!policy.read) return miss(cx, k, { status: 'BYPASS', reason: policy.reason });

  if (!known) {
    const found = await exactLookup(cx.store, key, policy, cx.now);
    if (found.kind === 'hit') return hit(cx, wire, found, form, view, body);
    if (found.kind === 'fault') return fault(cx, wire, view, body, found, parsed.model);
  }
  return shared(cx, k);
}

/**
 * Single-flight, before any embedding: join the flight of this exact key if there is one, else lead it through the
 * semantic lookup and, on a miss, upstream.
 */
async function shared(cx: PipelineContext, k: Keyed): Promise<Outcome> {
  const flightKey = exactKeyOf(k.key);
  if (cx.shareStreams === false) {
    // One wait, bounded: a joiner that waited its time out goes upstream rather than wait again.
    const flight = cx.flights.get(flightKey);
    if (!flight) return lead(cx, k, cx.flights.lead(flightKey, k.form));
    return (await awaitStored(cx, k, flight)) ?? miss(cx, k, { status: 'MISS' });
  }
  for (let attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
    const flight = cx.flights.get(flightKey);
    if (!flight) return lead(cx, k, cx.flights.lead(flightKey, k.form));
    const joined = await join(cx, k, flight);
    if (joined) return joined;
  }
  // Flights keep ending without an answer to share (an error, a client gone): go upstream alone.
  return miss(cx, k, { status: 'MISS' });
}

/** What the flight's leader got, shared: its hit, its bytes (same form), or its stored entry (other form). */
async function join(cx: PipelineContext, k: Keyed, flight: Flight): Promise<Outcome | undefined> {
  const done = flight.wait();
  // A joiner whose client leaves while it waits is no reader any more: a leader gone too must not call for nobody.
  const unwatch = k.view.onGone?.(done);
  try {
    return await joined(cx, k, flight);
  } finally {
    unwatch?.();
    done();
  }
}

/** join(), once this joiner is counted among the flight's readers. */
async function joined(cx: PipelineContext, k: Keyed, flight: Flight): Promise<Outcome | undefined> {
  const d = await flight.decided;
  if (d.kind === 'hit') return leaderHit(cx, k, d);
  if (d.kind !== 'upstream') return undefined;
  if (flight.form === k.form) {
    const tap = flight.subscribe();
    if (!tap) return undefined;
    cx.metrics.request('MISS', { endpoint: k.wire.endpoint, model: k.parsed.model });
    cx.metrics.coalesce();
    const info: CacheInfo = { status: 'MISS', reason: 'coalesced' };
    return {
      kind: 'join',
      head: { status: d.status, headers: withCacheInfo(d.headers, info) },
      attach: (sink) => tap.attach(sink),
      detach: () => tap.detach(),
      tail: (err) => brokenStreamTail(d.headers, err, k.wire.errors),
      log: { cache: info.status, reason: info.reason },
    };
  }
  const entry = await flight.result;
  if (!entry) return undefined;
  cx.metrics.coalesce();
  return hit(cx, k.wire, { entry, match: 'exact', score: 1 }, k.form, k.view, k.body);
}

/**
 * Where one request cannot read another's stream (workerd): the leader's hit, or its stored answer once it has
 * been stored, waited for at most joinWaitMs; undefined (go upstream) otherwise. Such a joiner is no reader of the
 * leader's bytes, so a leader whose client leaves stops its call as if alone, and the joiner then goes upstream.
 */
async function awaitStored(cx: PipelineContext, k: Keyed, flight: Flight): Promise<Outcome | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The timer also keeps this request's own work pending, so workerd never takes it for a request that hung.
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), cx.joinWaitMs ?? 30_000)));
  try {
    const d = await Promise.race([flight.decided, timeout]);
    if (!d) return undefined;
    if (d.kind === 'hit') return leaderHit(cx, k, d);
    if (d.kind !== 'upstream') return undefined;
    const entry = await Promise.race([flight.result, timeout]);
    if (!entry) return undefined;
    cx.metrics.coalesce();
    return hit(cx, k.wire, { entry, match: 'exact', score: 1 }, k.form, k.view, k.body);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The leader's hit, for a joiner. It passed the leader's own controls: it is served only if it passes this request's
 * too (a stricter X-Cache-Threshold, a shorter max-age); if not, the flight is over by now, and the joiner looks for
 * itself.
 */
function leaderHit(cx: PipelineContext, k: Keyed, d: Served): Outcome | Promise<Outcome> | undefined {
  const bar = k.policy.threshold ?? thresholdFor(cx, k.embedder);
  if (!fresh(d.entry, k.policy, cx.now()) || (d.match === 'semantic' && d.score < bar)) return undefined;
  return hit(cx, k.wire, d, k.form, k.view, k.body);
}

/** The leader: the semantic lookup, then upstream on a miss. Joiners wait for what it decides. */
async function lead(cx: PipelineContext, k: Keyed, leading: { flight: Flight; end: () => void }): Promise<Outcome> {
  let found: Lookup;
  try {
    found = k.key.semantic ? await semantic(cx, k) : { kind: 'miss', reason: 'exact-only' };
  } catch (error) {
    // A bug, or an entry the store returned malformed: fail open, and never leave joiners waiting on this flight.
    found = { kind: 'fault', stage: 'lookup', error };
  }
  if (found.kind === 'hit') {
    leading.flight.hit(found.entry, found.match, found.score);
    leading.end();
    return hit(cx, k.wire, found, k.form, k.view, k.body);
  }
  if (found.kind === 'fault') {
    leading.flight.abandon();
    leading.end();
    return fault(cx, k.wire, k.view, k.body, found, k.parsed.model);
  }
  if (found.explore) cx.metrics.budgetDecision(found.reason.replace(/^budget-/, ''));
  const busy = found.reason === 'embed-busy';
  if (busy) cx.metrics.embedBusyOnce();
  // Busy: no semantic lookup was made. The answer is stored exact-only and embedded once the embedder is idle.
  const info: CacheInfo = found.explore ? { status: 'MISS', reason: 'budget-explore' } : busy ? { status: 'BYPASS', reason: 'embed-busy' } : { status: 'MISS' };
  return miss(cx, k, info, { lead: leading, ...(found.vector && { vector: found.vector }), ...(found.explore && { explore: found.explore }) });
}

/** The similarity a semantic hit needs when the request does not say. */
export function thresholdFor(cx: PipelineContext, embedder: Embedder): number {
  return cx.threshold ?? cx.verifierFor(embedder.id)?.model.floor ?? embedder.defaultThreshold;
}

async function semantic(cx: PipelineContext, k: Keyed): Promise<Lookup> {
  const verifier = cx.verifierFor(k.embedder.id);
  const { budget, metrics, judge } = cx;
  const found = await semanticLookup(
    {
      store: cx.store,
      embedder: k.embedder,
      tenant: k.tenant,
      ...(cx.embedWaitMs !== undefined && { maxWaitMs: cx.embedWaitMs }),
      threshold: thresholdFor(cx, k.embedder),
      now: cx.now,
      ...(verifier && { verifier }),
      ...(budget && { budget }),
      ...(judge && {
        judge: {
          band: judge.band,
          // The LLM judge asks the OpenAI upstream with the caller's own credentials, so it can judge only OpenAI
          // requests: elsewhere a candidate it would have been asked about is refused unjudged, never served.
          ask:
            judge.judge.anyApi || k.wire.upstream === 'openai'
              ? async (query: string, candidate: string) => {
                  const verdict = await judge.judge.judge(query, candidate, k.view.headers, k.tenant);
                  metrics.judged(verdict);
                  return verdict;
                }
              : async () => 'error' as const,
        },
      }),
    },
    k.key,
    k.policy,
  );
  if (budget && found.kind === 'hit' && found.match === 'semantic') {
    budget.served(found.entry.id, found.score);
    metrics.budgetDecision('serve');
  }
  const seen = found.kind === 'fault' ? undefined : found.seen;
  if (seen?.embedMs !== undefined) metrics.embedded(seen.embedMs, seen.batch);
  if (seen?.best !== undefined) metrics.lookedUp(seen.best, found.kind === 'hit' && found.match === 'semantic', seen.refusal);
  return found;
}

type Served = { entry: Entry; match: 'exact' | 'semantic'; score: number };

function hit(cx: PipelineContext, wire: WireApi, found: Served, form: AnswerForm, view: RequestView, body: Uint8Array): Outcome | Promise<Outcome> {
  const { entry, match, score } = found;
  let reply;
  let usage;
  try {
    reply = hitReply({ entry, match, score, now: cx.now() }, form, wire);
    usage = wire.usage(entry.response);
  } catch (error) {
    // An entry whose answer cannot be serialised or read is the store's fault: fail open.
    return fault(cx, wire, view, body, { stage: 'lookup', error }, entry.model);
  }
  const at = { endpoint: entry.endpoint, model: entry.model };
  cx.metrics.request('HIT', at, match);
  cx.metrics.hit(match, at, usage, entry);
  if (view.arrived !== undefined) {
    const ms = performance.now() - view.arrived;
    cx.metrics.timed('HIT', entry.endpoint, { totalMs: ms, ownMs: ms });
  }
  return { kind: 'hit', reply, entry, match, score, log: { cache: 'HIT', match } };
}

/** Upstream, with the cache: the answer is stored on a clean end unless the policy says not to. */
async function miss(cx: PipelineContext, k: Keyed, info: CacheInfo, extra: { lead?: MissPlan['lead']; vector?: Float32Array; explore?: Exploration } = {}): Promise<Outcome> {
  let release: Release;
  const asked = performance.now();
  try {
    // A leader whose client leaves while it waits keeps its place for the joiners waiting on its flight, until the
    // last of them leaves too.
    const lead = extra.lead;
    const client = lead ? { onGone: (left: () => void) => k.view.onGone?.(() => lead.flight.leaderGone(left) || left()) ?? (() => {}) } : k.view;
    const free = cx.slots.acquire(client);
    release = typeof free === 'function' ? free : await free;
  } catch (err) {
    // Refused a slot (503): joiners of this request's flight go their own way.
    extra.lead?.flight.abandon();
    extra.lead?.end();
    throw err;
  }
  cx.metrics.request(info.status, { endpoint: k.wire.endpoint, model: k.parsed.model });
  if (info.status === 'MISS') cx.metrics.missed({ endpoint: k.wire.endpoint, model: k.parsed.model }, k.key.text);
  cx.metrics.upstream();
  const plan: MissPlan = { wire: k.wire, parsed: k.parsed, key: k.key, tenant: k.tenant, policy: k.policy, embedder: k.embedder, ...extra };
  const call = upstreamCall(cx.bases[k.wire.upstream], { method: 'POST', url: k.view.url, headers: k.view.headers, body: k.body, bodyLimit: cx.bodyLimit, identity: true });
  const exchange = createExchange(cx, info, plan, release, k.wire.errors, timingOf(k.wire, k.view, performance.now() - asked));
  return { kind: 'forward', call, exchange, log: { cache: info.status, reason: info.reason } };
}

/** Upstream, leaving the cache alone. */
async function bypass(cx: PipelineContext, wire: WireApi, view: RequestView, body: Uint8Array, info: CacheInfo, model: string): Promise<Outcome> {
  const asked = performance.now();
  const free = cx.slots.acquire(view);
  const release = typeof free === 'function' ? free : await free;
  cx.metrics.request(info.status, { endpoint: wire.endpoint, model });
  cx.metrics.upstream();
  const call = upstreamCall(cx.bases[wire.upstream], { method: view.method, url: view.url, headers: view.headers, body, bodyLimit: cx.bodyLimit, identity: false });
  const exchange = createExchange(cx, info, undefined, release, wire.errors, timingOf(wire, view, performance.now() - asked));
  return { kind: 'forward', call, exchange, log: { cache: info.status, reason: info.reason } };
}

/** A cache fault: say so, count it, and go upstream without the cache. `model` is "unknown" before the body is read. */
function fault(cx: PipelineContext, wire: WireApi, view: RequestView, body: Uint8Array, found: { stage: FaultStage; error: unknown }, model: string): Promise<Outcome> {
  cx.metrics.fault(found.stage);
  cx.logger.warn({ stage: found.stage, err: String(found.error) }, 'cache fault; failing open');
  return bypass(cx, wire, view, body, { status: 'ERROR', reason: found.stage }, model);
}

/** What the exchange times a forwarded request by: its endpoint, when it came in, and how long it queued for a slot. */
function timingOf(wire: WireApi, view: RequestView, queuedMs: number): Timing | undefined {
  return view.arrived === undefined ? undefined : { endpoint: wire.endpoint, arrived: view.arrived, queuedMs };
}

/**
 * The values of the wire's scoped headers (an API version, betas) as they go upstream, by name; undefined when it
 * sends none. Read after header hygiene: a header the client lists in Connection never reaches upstream, so it keys
 * nothing.
 */
function scopeHeaders(wire: WireApi, view: RequestView): Record<string, string> | undefined {
  if (!wire.scopeHeaders) return undefined;
  const sent = upstreamRequestHeaders(view.headers.list(), false);
  let out: Record<string, string> | undefined;
  for (const name of wire.scopeHeaders) {
    const v = sent[name];
    if (v !== undefined) (out ??= {})[name] = v;
  }
  return out;
}
