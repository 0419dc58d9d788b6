/**
 * @module handle: the one entry every front calls. `createHandler(deps)` holds the route table and returns
 * `handle(view) → Outcome`; it is runtime-neutral (Web-standard APIs only) and never writes a response. Each front
 * (node/listener.ts on Node, app.ts on Web runtimes) turns its transport into a RequestView and renders the outcome.
 */
import { Backfill } from './cache/backfill.js';
import { BudgetShare } from './cache/budget-share.js';
import { cachedPath, thresholdFor, type PipelineContext } from './cache/pipeline.js';
import { createExchange } from './cache/exchange.js';
import { ErrorBudget } from './cache/error-budget.js';
import { sha256Bytes } from './cache/hash.js';
import { LlmJudge, type PairJudge } from './cache/judge.js';
import type { Outcome } from './cache/outcome.js';
import { RawExact, type BytesHash } from './cache/raw-exact.js';
import { SingleFlight } from './cache/single-flight.js';
import { UpstreamSlots } from './cache/upstream-slots.js';
import { randomSecret, Tenants } from './cache/tenant.js';
import { verifierFor } from './cache/verifier/registry.js';
import type { UpstreamName, WireApi } from './cache/wire.js';
import { ANTHROPIC_ERRORS } from './anthropic/errors.js';
import { MESSAGES } from './anthropic/messages.js';
import type { Embedder } from './embed/types.js';
import type { Reply, RequestView } from './http/types.js';
import { errorReply, NotFoundError, OPENAI_ERRORS, PayloadTooLargeError, RepriseError, type ErrorDialect } from './openai/errors.js';
import { RESPONSES } from './openai/responses.js';
import { CHAT, COMPLETIONS, EMBEDDINGS } from './openai/wire.js';
import type { Logger } from './observe/logger.js';
import { Metrics } from './observe/metrics.js';
import { adminRoute } from './routes/admin.js';
import { dashboardRoute, requireStats, type DashboardAssets, type DashboardDeps } from './routes/dashboard.js';
import { STATS_SCHEMA, statsJson, type ReplicaStats } from './observe/stats.js';
import { feedbackHeader, feedbackRoute, type FeedbackDeps } from './routes/feedback.js';
import { jsonReply, textReply } from './routes/reply.js';
import type { Store } from './store/types.js';
import { upstreamBase, upstreamCall } from './upstream/call.js';
import type { UpstreamFetch } from './upstream/types.js';

export interface AppDeps {
  config: {
    upstream: string;
    /** where /v1/messages goes @default https://api.anthropic.com/v1 */
    anthropicUpstream?: string;
    cacheEnabled: boolean;
    sharedCache: boolean;
    ttl: number;
    threshold?: number | undefined;
    /** "learned" adds the shipped verifier for the embedder, when there is one @default "guards" */
    verify?: 'learned' | 'guards';
    /** error budget for semantic hits; undefined = off */
    maxErrorRate?: number | undefined;
    /** with maxErrorRate: share of would-be hits verified upstream @default 0.05 */
    verifySampleRate?: number;
    /** model for the LLM judge of borderline candidates; empty or undefined = off */
    judgeModel?: string;
    /** judged: candidates under threshold + judgeBand @default 0.03 */
    judgeBand?: number;
    bodyLimit: number;
    /** empty = admin API off */
    adminToken?: string;
    /**
     * true (the Worker, always on the public internet): /metrics needs the admin token too, and without an admin
     * token /metrics, /stats and the dashboard are closed rather than open. @default false
     */
    privateOps?: boolean;
    /** further headers that carry a credential (--tenant-headers) */
    tenantHeaders?: readonly string[];
    /** largest answer stored, JSON or stream @default 4 MiB */
    maxEntryBytes?: number;
    /** ms an embedding may wait to start before the lookup skips it; undefined = no bound */
    embedWaitMs?: number;
    /** upstream calls under way at once; 0 or undefined = no limit */
    upstreamConcurrency?: number;
    /** with upstreamConcurrency: calls that may wait for one @default 1000 */
    upstreamQueue?: number;
  };
  /**
   * The secret tenant ids are keyed with; replicas sharing a cache share it. A promise while it is being fetched
   * (from Redis): until then requests pass through uncached. @default a random secret for this process
   */
  tenantSecret?: Uint8Array | Promise<Uint8Array>;
  store: Store;
  /** uPlot's files for the dashboard page, read by the front; without them the page has no charts to draw */
  dashboardAssets?: DashboardAssets;
  /** returns the embedder once it has loaded */
  embedder: () => Embedder | undefined;
  /** the judge of borderline candidates, instead of the LLM judge of `config.judgeModel` (the Worker's reranker) */
  judge?: PairJudge;
  /**
   * false: a runtime where one request cannot read another's stream (workerd). A request whose exact key has an
   * upstream call in flight then waits up to `joinWaitMs` for that call's stored answer instead of sharing its
   * bytes, and goes upstream itself if none comes. @default true
   */
  shareStreams?: boolean;
  /** with shareStreams false: ms a joiner waits for the stored answer @default 30000 */
  joinWaitMs?: number;
  /**
   * false: a runtime whose timers end with the request that set them (workerd). An answer stored without its vector
   * is then embedded before it is stored (the Worker stores in waitUntil, so no client waits for it) instead of
   * later in the background (cache/backfill.ts). @default true
   */
  backgroundWork?: boolean;
  /** Reprise's own upstream calls (the LLM judge); clients' requests are forwarded by the front */
  upstream: UpstreamFetch;
  logger: Logger;
  metrics?: Metrics;
  /** ms since epoch @default Date.now */
  now?: () => number;
  /** SHA-256 of a prefix and bytes, for exact hits on raw bodies @default pure-JS SHA-256 */
  hashBytes?: BytesHash;
  /** hex SHA-256 of a string, for cache keys @default pure-JS SHA-256 */
  hashText?: (text: string) => string;
}

export interface Handler {
  handle(view: RequestView): Promise<Outcome>;
  readonly metrics: Metrics;
  /** this replica's counters and last hour, to share with the cluster (Store.shareStats) */
  replicaStats(): ReplicaStats;
}

/** A request target a URL parser leaves as it is: a path of plain characters, no escapes, no query. */
const PLAIN_TARGET = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/** Path and query of a request target as a URL parser reads it; an origin-form or absolute-form target. */
function normalisedTarget(target: string): string {
  let url: URL;
  try {
    url = target.startsWith('/') ? new URL(`http://reprise.invalid${target}`) : new URL(target);
  } catch {
    throw new NotFoundError(target.slice(0, 200));
  }
  if (!target.startsWith('/') && url.protocol !== 'http:' && url.protocol !== 'https:') throw new NotFoundError(target.slice(0, 200));
  return `${url.pathname}${url.search}`;
}

/** The cached endpoints, by path. */
const CACHED: ReadonlyMap<string, WireApi> = new Map([
  ['/v1/chat/completions', CHAT],
  ['/v1/completions', COMPLETIONS],
  ['/v1/embeddings', EMBEDDINGS],
  ['/v1/responses', RESPONSES],
  ['/v1/messages', MESSAGES],
]);

/** The config's default, for a handler built without one (tests). */
const ANTHROPIC_UPSTREAM = 'https://api.anthropic.com/v1';

/** How Reprise's own errors look to each upstream's clients. */
const DIALECTS: Readonly<Record<UpstreamName, ErrorDialect>> = { openai: OPENAI_ERRORS, anthropic: ANTHROPIC_ERRORS };

/**
 * Which API a request speaks, so which upstream it goes to and in which shape it hears Reprise's errors: a cached
 * route's own; Anthropic's for /v1/messages and everything under it (count_tokens, batches), and for any other
 * route an Anthropic SDK calls (it always sends `anthropic-version`; its /v1/models is Anthropic's list); else
 * OpenAI's.
 */
function apiOf(path: string, wire: WireApi | undefined, view: RequestView): UpstreamName {
  if (wire) return wire.upstream;
  if (path === '/v1/messages' || path.startsWith('/v1/messages/')) return 'anthropic';
  return view.headers.get('anthropic-version') !== undefined ? 'anthropic' : 'openai';
}

export function createHandler(deps: AppDeps): Handler {
  const { config, logger, store } = deps;
  const metrics = deps.metrics ?? new Metrics();
  metrics.store = store;
  const budget =
    config.maxErrorRate === undefined
      ? undefined
      : new ErrorBudget({ maxErrorRate: config.maxErrorRate, ...(config.verifySampleRate !== undefined && { sampleRate: config.verifySampleRate }) });
  const replica = crypto.randomUUID();
  // With a store replicas share (Redis), every replica's budget learns from every replica's labels.
  const channel = budget && store.labelChannel?.(replica);
  if (budget && channel) {
    new BudgetShare({
      budget,
      channel,
      logger,
      counted: (event, n, served) => {
        metrics.budgetShared(event, n, served);
        if (event === 'received') metrics.budgetState(budget.stats());
      },
    });
  }
  // The injected judge (the Worker's reranker), else the LLM judge when --judge-model names one.
  const judge = deps.judge ?? (config.judgeModel ? new LlmJudge({ upstream: deps.upstream, upstreamUrl: config.upstream, model: config.judgeModel }) : undefined);
  let tenants: Tenants | undefined;
  const makeTenants = (secret: Uint8Array) =>
    (tenants = new Tenants({ secret, shared: config.sharedCache, ...(config.tenantHeaders && { extraHeaders: config.tenantHeaders }) }));
  const secret = deps.tenantSecret ?? randomSecret();
  if (secret instanceof Uint8Array) makeTenants(secret);
  else secret.then(makeTenants, (err: unknown) => logger.error({ err: String(err) }, 'no tenant secret: serving as a pass-through proxy'));

  const cx: PipelineContext = {
    store,
    embedder: deps.embedder,
    metrics,
    logger,
    now: deps.now ?? Date.now,
    cacheEnabled: config.cacheEnabled,
    sharedCache: config.sharedCache,
    ttl: config.ttl,
    ...(config.threshold !== undefined && { threshold: config.threshold }),
    bodyLimit: config.bodyLimit,
    ...(config.maxEntryBytes !== undefined && { maxAnswerBytes: config.maxEntryBytes }),
    bases: { openai: upstreamBase(config.upstream), anthropic: upstreamBase(config.anthropicUpstream ?? ANTHROPIC_UPSTREAM) },
    // Where joiners never read the leader's bytes, none are kept for them.
    flights: (metrics.flights = new SingleFlight(deps.shareStreams === false ? 0 : undefined)),
    raw: new RawExact(deps.hashBytes ?? sha256Bytes),
    ...(deps.hashText && { hashText: deps.hashText }),
    slots: (metrics.slots = new UpstreamSlots({ concurrency: config.upstreamConcurrency ?? 0, queue: config.upstreamQueue ?? 1000 })),
    ...(config.embedWaitMs !== undefined && { embedWaitMs: config.embedWaitMs }),
    ...(deps.shareStreams === false && { shareStreams: false, ...(deps.joinWaitMs !== undefined && { joinWaitMs: deps.joinWaitMs }) }),
    ...(deps.backgroundWork !== false ? { backfill: new Backfill({ store, metrics, logger, now: deps.now ?? Date.now }) } : { backgroundWork: false }),
    tenants: () => tenants,
    verifierFor: config.verify === 'learned' ? verifierFor : () => undefined,
    ...(budget && { budget }),
    ...(judge && { judge: { judge, band: config.judgeBand ?? 0.03 } }),
  };
  const feedback: FeedbackDeps = { store, metrics, logger, tenants: () => tenants, bodyLimit: config.bodyLimit, ...(budget && { budget }) };
  const admin = config.adminToken ? { token: config.adminToken, store, logger, tenants: () => tenants, bodyLimit: config.bodyLimit } : undefined;
  const now = deps.now ?? Date.now;
  // Closed without a token: a token no one has, so no one gets in.
  const opsToken = config.adminToken || (config.privateOps ? `closed-${crypto.randomUUID()}` : '');
  const dashboard: DashboardDeps = { token: opsToken, assets: deps.dashboardAssets, now };
  const replicaStats = (): ReplicaStats => ({ schema: STATS_SCHEMA, replica, at: now(), snapshot: metrics.snapshot(), timeline: metrics.timeline.state() });

  let peersFailing = false;
  /** The stats JSON: this replica's, and with a shared store every other replica's that reported lately. */
  async function stats(): Promise<Reply> {
    let peers: ReplicaStats[] = [];
    try {
      peers = ((await store.peerStats?.()) ?? []).filter((p) => p.replica !== replica);
      peersFailing = false;
    } catch (err) {
      // The cluster's figures are a bonus: without them the page shows this replica's. Said once per outage, as
      // a dashboard asks every few seconds.
      if (!peersFailing) logger.warn({ err: String(err) }, "could not read the other replicas' stats; showing this replica's");
      peersFailing = true;
    }
    const e = deps.embedder();
    const threshold = e ? thresholdFor(cx, e) : null;
    return jsonReply(200, statsJson([replicaStats(), ...peers], { now: now(), threshold, store: { entries: store.size(), ...(store.bytes && { bytes: store.bytes() }) } }));
  }

  const reply = (r: ReturnType<typeof jsonReply>): Outcome => ({ kind: 'reply', reply: r, log: {} });

  /** A request's route: its target as the fronts agree to read it, its path, its cached API if any, and the API it speaks. */
  function routeOf(sent: RequestView) {
    // Every front routes a request target as a URL parser reads it (dot segments resolved, escapes normalised,
    // absolute-form reduced to its path), so a request means the same on each. A plain target, the hot path, is
    // already in that form and is not parsed.
    const target = PLAIN_TARGET.test(sent.url) && !DOT_SEGMENT.test(sent.url) ? sent.url : normalisedTarget(sent.url);
    const view = target === sent.url ? sent : { ...sent, url: target };
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const wire = view.method === 'POST' ? CACHED.get(path) : undefined;
    return { view, target, path, wire, api: apiOf(path, wire, view) };
  }

  async function route({ view, target, path, wire, api }: ReturnType<typeof routeOf>): Promise<Outcome> {
    const { method } = view;
    if (wire) {
      const feedbackDone = v1(view);
      if (feedbackDone) await feedbackDone;
      return cachedPath(cx, wire, view);
    }
    const read = method === 'GET' || method === 'HEAD';
    if (path === '/v1' || path.startsWith('/v1/')) {
      const feedbackDone = v1(view);
      if (feedbackDone) await feedbackDone;
      if (method === 'POST' && path === '/v1/cache/feedback') return reply(await feedbackRoute(feedback, view));
      return passthrough(view, target, api);
    }
    if (read && path === '/healthz') {
      // 200 as soon as the embedder is ready, whatever the store's state: with the store down, Reprise still
      // serves (failing open), so a load balancer should keep sending traffic.
      const e = deps.embedder();
      // Until the tenant secret is known (read from Redis), the cache cannot be used: the store is not ready yet.
      const storeStatus = tenants ? (store.status ?? 'ready') : 'connecting';
      return reply(e ? jsonReply(200, { status: 'ok', embedder: e.id, store: storeStatus }) : jsonReply(503, { status: 'loading', store: storeStatus }));
    }
    if (read && path === '/metrics') {
      if (config.privateOps) requireStats(dashboard, view);
      return reply(textReply(200, metrics.prometheus(), 'text/plain; version=0.0.4'));
    }
    if (read && path === '/stats') {
      requireStats(dashboard, view);
      return reply(await stats());
    }
    if (path === '/dashboard' || path.startsWith('/dashboard/')) return reply(await dashboardRoute(dashboard, view, path));
    if (admin && (path === '/admin' || path.startsWith('/admin/'))) return reply(await adminRoute(admin, view, path));
    throw new NotFoundError(path);
  }

  /**
   * What every /v1/ request goes through first: the body limit (by its declared length), and X-Cache-Feedback.
   * Returns a promise only when there is feedback to act on, so a plain request waits for nothing.
   */
  function v1(view: RequestView): Promise<void> | undefined {
    const length = Number(view.headers.get('content-length') ?? 0);
    if (length > config.bodyLimit) throw new PayloadTooLargeError(config.bodyLimit);
    const said = view.headers.get('x-cache-feedback');
    return said === undefined ? undefined : feedbackHeader(feedback, view, said);
  }

  /** Every other /v1/ route goes upstream unchanged, streaming both ways. `url` is the request's normalised target. */
  async function passthrough(view: RequestView, url: string, api: UpstreamName): Promise<Outcome> {
    const info = { status: 'BYPASS', reason: 'not-cacheable-route' } as const;
    const free = cx.slots.acquire(view);
    const release = typeof free === 'function' ? free : await free;
    const hasBody = view.method !== 'GET' && view.method !== 'HEAD';
    const call = upstreamCall(cx.bases[api], { method: view.method, url, headers: view.headers, body: hasBody ? 'client' : null, bodyLimit: config.bodyLimit, identity: false });
    return { kind: 'forward', call, exchange: createExchange(cx, info, undefined, release, DIALECTS[api]), log: { cache: info.status, reason: info.reason } };
  }

  return {
    metrics,
    replicaStats,
    async handle(view) {
      let outcome: Outcome;
      // A target no URL parser reads is answered in OpenAI's shape: it names no API.
      let errors = OPENAI_ERRORS;
      try {
        const r = routeOf(view);
        errors = DIALECTS[r.api];
        outcome = await route(r);
      } catch (err) {
        if (!(err instanceof RepriseError)) logger.error({ err: (err as Error)?.message, stack: (err as Error)?.stack }, 'unhandled error');
        outcome = { kind: 'reject', reply: errorReply(err, errors), log: {} };
      }
      // A HEAD is answered as its GET would be, without the body.
      if (view.method === 'HEAD' && 'reply' in outcome) outcome.reply = { ...outcome.reply, body: null };
      return outcome;
    },
  };
}
