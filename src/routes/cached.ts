/**
 * @module routes/cached: the request's path for the cached endpoints (DESIGN "One request's path"):
 * parse → policy → key → lookup (exact, then semantic) → hit, or single-flight → upstream → tee → store.
 */
import type { Handler } from 'hono';
import { exactKeyOf, type CacheKey } from '../cache/key.js';
import { answersAgree } from '../cache/answer-agreement.js';
import { find, type FindDeps, type Found } from '../cache/find.js';
import type { Exploration } from '../cache/lookup.js';
import { readPolicy, type CachePolicy } from '../cache/policy.js';
import { hitResponse, markCache, type CacheInfo } from '../cache/respond.js';
import type { SingleFlight } from '../cache/single-flight.js';
import { storeAnswer } from '../cache/store-answer.js';
import { isStorableAnswer, teeForStore } from '../cache/tee.js';
import type { Embedder } from '../embed/types.js';
import { usageTokens, type Completion } from '../openai/completion.js';
import { parseJson, parseRequest, type Endpoint, type ParsedRequest } from '../openai/request.js';
import type { Logger } from '../observe/logger.js';
import type { Entry } from '../store/types.js';
import { responseHeadersForClient } from '../upstream/headers.js';
import { forward, type ForwardDeps } from './forward.js';

export interface CachedRouteDeps extends ForwardDeps, FindDeps {
  /** undefined until the embedder has loaded; until then requests pass through */
  embedder: () => Embedder | undefined;
  flights: SingleFlight<Entry>;
  logger: Logger;
  cacheEnabled: boolean;
  ttl: number;
  /** sees every key computed, with the runtime's env (the Node fast path learns raw request → key from it) */
  onKey?: (env: unknown, key: CacheKey, req: ParsedRequest) => void;
  /** what a runtime's front (the Node fast path) already found for this request, by its env; at most once */
  prefound?: (env: unknown) => Found | undefined;
}

/** Everything one request carries down the path once its cache key is known. */
interface Ctx {
  req: Request;
  parsed: ParsedRequest;
  bodyText: string;
  policy: CachePolicy;
  key: CacheKey;
  tenant: string;
  embedder: Embedder;
  vector?: Float32Array;
  /** a candidate the error budget sent upstream: the fresh answer will label it */
  explore?: Exploration;
}

export function cachedRoute(endpoint: Endpoint, deps: CachedRouteDeps): Handler {
  return async function cached(c) {
    const req = c.req.raw;
    const bodyText = await c.req.text();
    const parsed = parseRequest(endpoint, parseJson(bodyText));
    const embedder = deps.embedder();
    if (!deps.cacheEnabled) return pass(deps, req, bodyText, { status: 'BYPASS', reason: 'disabled' });
    const policy = readPolicy(req.headers, deps.ttl);
    if (!embedder) return pass(deps, req, bodyText, { status: 'BYPASS', reason: 'warming-up' });
    if (!policy.read && !policy.write) return pass(deps, req, bodyText, { status: 'BYPASS', reason: policy.reason });

    // On Node the fast path may have keyed and looked this request up already (it serves hits itself).
    const { tenant, key, found } = deps.prefound?.(c.env) ?? (await find(deps, parsed, req.headers, policy, embedder));
    deps.onKey?.(c.env, key, parsed);
    const ctx: Ctx = { req, parsed, bodyText, policy, key, tenant, embedder };

    if (!found) return miss(deps, ctx, { status: 'BYPASS', reason: policy.reason });
    if (found.kind === 'hit') {
      deps.metrics.request('HIT');
      deps.metrics.hit(found.match, endpoint === 'embeddings' ? 0 : usageTokens(found.entry.response as Completion));
      return hitResponse(found.entry, parsed, found.match, found.score, deps.now());
    }
    if (found.kind === 'fault') {
      deps.metrics.fault(found.stage);
      deps.logger.warn({ stage: found.stage, err: String(found.error) }, 'cache fault; failing open');
      return pass(deps, req, bodyText, { status: 'ERROR', reason: found.stage });
    }
    ctx.vector = found.vector;
    if (found.explore) {
      ctx.explore = found.explore;
      deps.metrics.budgetDecision(found.reason.replace(/^budget-/, ''));
    }
    return coalesce(deps, ctx);
  };
}

/** Forward without touching the cache. */
async function pass(deps: CachedRouteDeps, req: Request, bodyText: string, info: CacheInfo): Promise<Response> {
  deps.metrics.request(info.status);
  deps.metrics.upstream();
  const res = await forward(deps, req, bodyText, { cached: false });
  return new Response(res.body, { status: res.status, headers: markCache(responseHeadersForClient(res.headers), info) });
}

function modeOf(p: ParsedRequest): string {
  return p.stream ? (p.includeUsage ? 'sse+usage' : 'sse') : 'json';
}

/**
 * Single-flight: if the same exact key is already on its way upstream, share it. A joiner that asked the same
 * way gets a copy of the bytes; one that asked the other way (JSON vs stream) waits for the stored entry.
 */
async function coalesce(deps: CachedRouteDeps, ctx: Ctx): Promise<Response> {
  const flightKey = exactKeyOf(ctx.key);
  const flight = deps.flights.get(flightKey);
  if (flight) {
    if (flight.mode === modeOf(ctx.parsed)) {
      const body = flight.subscribe();
      const head = body && (await flight.headReady);
      if (body && head) {
        deps.metrics.request('MISS');
        deps.metrics.coalesce();
        const headers = markCache(responseHeadersForClient(head.headers), { status: 'MISS', reason: 'coalesced' });
        return new Response(body, { status: head.status, headers });
      }
      void body?.cancel();
    } else {
      const entry = await flight.result;
      if (entry) {
        deps.metrics.request('HIT');
        deps.metrics.coalesce();
        return hitResponse(entry, ctx.parsed, 'exact', 1, deps.now());
      }
    }
    return miss(deps, ctx, { status: 'MISS' });
  }
  const info: CacheInfo = ctx.explore ? { status: 'MISS', reason: 'budget-explore' } : { status: 'MISS' };
  return miss(deps, ctx, info, deps.flights.lead(flightKey, modeOf(ctx.parsed)));
}

/** Go upstream, stream the answer to the client as it arrives, and store it if it completed cleanly. */
async function miss(
  deps: CachedRouteDeps,
  ctx: Ctx,
  info: CacheInfo,
  lead?: ReturnType<SingleFlight<Entry>['lead']>,
): Promise<Response> {
  deps.metrics.request(info.status);
  deps.metrics.upstream();
  const flight = lead?.flight;
  let res: Response;
  try {
    res = await forward(deps, ctx.req, ctx.bodyText, { cached: true });
  } catch (err) {
    flight?.fail(err);
    lead?.end();
    throw err;
  }
  const headers = markCache(responseHeadersForClient(res.headers), info);
  flight?.started({ status: res.status, headers: new Headers(res.headers) });

  const ok = res.status >= 200 && res.status < 300 && res.body !== null;
  const notStored = (reason: string) => {
    deps.metrics.notStored(reason);
    flight?.finish(undefined);
    lead?.end();
  };
  if (!ok || !ctx.policy.write) {
    // Errors are never stored, but coalesced joiners still get the same bytes.
    if (!flight || !res.body) {
      notStored(ok ? 'no-store' : `status-${res.status}`);
      return new Response(res.body, { status: res.status, headers });
    }
  }
  const isSse = (res.headers.get('content-type') ?? '').includes('text/event-stream');
  const body = teeForStore(res.body!, isSse ? 'sse' : 'json', (v) => isStorableAnswer(ctx.parsed.endpoint, v), {
    onChunk: flight && ((chunk) => flight.push(chunk)),
    onAbort: (reason) => {
      deps.metrics.notStored('aborted');
      flight?.fail(reason);
      lead?.end();
    },
    onEnd: (captured) => {
      if (!ok || !ctx.policy.write) return notStored(ok ? 'no-store' : `status-${res.status}`);
      if (!captured.ok) return notStored(captured.reason);
      if (ctx.explore) void label(deps, ctx.embedder, ctx.explore, captured.response);
      return storeAnswer({ ...ctx, store: deps.store, req: ctx.parsed, response: captured.response, now: deps.now() })
        .then(
          (entry) => {
            deps.metrics.stored();
            flight?.finish(entry);
          },
          (err) => {
            deps.metrics.fault('store');
            deps.logger.warn({ err: String(err) }, 'could not store answer');
            flight?.finish(undefined);
          },
        )
        .finally(() => lead?.end());
    },
  });
  return new Response(body, { status: res.status, headers });
}

/** An explored request completed: would the candidate's answer have done? Teach the budget either way. */
async function label(deps: CachedRouteDeps, embedder: Embedder, explore: Exploration, fresh: unknown): Promise<void> {
  const budget = deps.budget;
  if (!budget) return;
  try {
    const correct = await answersAgree(fresh, explore.entry.response, embedder);
    budget.learn(explore.entry.id, explore.score, correct, explore.sampled);
    deps.metrics.budgetLabel(correct, budget.stats());
  } catch (err) {
    // A label is a bonus: without one the budget only learns more slowly.
    deps.logger.warn({ err: String(err) }, 'could not label an explored answer');
  }
}
