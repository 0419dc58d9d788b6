/**
 * @module app: createApp(deps) builds the Hono app. Web-standard APIs only, so the same app runs on Node and
 * Workers; everything runtime-specific (undici, native HNSW, model loading, pino) is injected by the entry.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ErrorBudget } from './cache/error-budget.js';
import { LlmJudge } from './cache/judge.js';
import { SingleFlight } from './cache/single-flight.js';
import { verifierFor } from './cache/verifier/registry.js';
import type { Embedder } from './embed/types.js';
import { errorResponse, NotFoundError, PayloadTooLargeError, RepriseError } from './openai/errors.js';
import type { Logger } from './observe/logger.js';
import { Metrics } from './observe/metrics.js';
import { requestLog } from './observe/request-log.js';
import { cachedRoute, type CachedRouteDeps } from './routes/cached.js';
import { adminRoutes } from './routes/admin.js';
import { feedbackHeader, feedbackRoute } from './routes/feedback.js';
import { passthroughRoute } from './routes/passthrough.js';
import type { Entry, Store } from './store/types.js';
import type { UpstreamFetch } from './upstream/types.js';

export interface AppDeps {
  config: {
    upstream: string;
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
  };
  store: Store;
  /** returns the embedder once it has loaded */
  embedder: () => Embedder | undefined;
  upstream: UpstreamFetch;
  logger: Logger;
  metrics?: Metrics;
  /** ms since epoch @default Date.now */
  now?: () => number;
  /** sees every cache key the cached routes compute (src/node/fast-path.ts learns from it) */
  onKey?: CachedRouteDeps['onKey'];
  /** what the Node fast path already found for a request it hands over */
  prefound?: CachedRouteDeps['prefound'];
}

/**
 * What the cached routes share: store, embedder, single-flight, budget, judge. Made apart from the app so that a
 * runtime's front (the Node fast path) can look requests up with exactly the app's deps (cache/find.ts).
 */
export function createCacheDeps(deps: AppDeps): CachedRouteDeps {
  const { config } = deps;
  const forwardDeps = { upstream: deps.upstream, upstreamUrl: config.upstream };
  const budget =
    config.maxErrorRate === undefined
      ? undefined
      : new ErrorBudget({ maxErrorRate: config.maxErrorRate, ...(config.verifySampleRate !== undefined && { sampleRate: config.verifySampleRate }) });
  return {
    ...forwardDeps,
    store: deps.store,
    embedder: deps.embedder,
    flights: new SingleFlight<Entry>(),
    metrics: deps.metrics ?? new Metrics(),
    logger: deps.logger,
    now: deps.now ?? Date.now,
    cacheEnabled: config.cacheEnabled,
    sharedCache: config.sharedCache,
    ttl: config.ttl,
    ...(config.threshold !== undefined && { threshold: config.threshold }),
    verifierFor: config.verify === 'learned' ? verifierFor : () => undefined,
    ...(deps.onKey && { onKey: deps.onKey }),
    ...(deps.prefound && { prefound: deps.prefound }),
    ...(budget && { budget }),
    ...(config.judgeModel && {
      judge: { judge: new LlmJudge({ ...forwardDeps, model: config.judgeModel }), band: config.judgeBand ?? 0.03 },
    }),
  };
}

/** @param cachedDeps from createCacheDeps(deps), when the caller needs them too */
export function createApp(deps: AppDeps, cachedDeps: CachedRouteDeps = createCacheDeps(deps)) {
  const { config, logger } = deps;
  const { metrics, budget } = cachedDeps;

  const app = new Hono();
  app.use(requestLog(logger));

  // 200 as soon as the embedder is ready, whatever the store's state: with the store down, Reprise still serves
  // (failing open), so a load balancer should keep sending traffic.
  app.get('/healthz', (c) => {
    const e = deps.embedder();
    const store = deps.store.status ?? 'ready';
    return e ? c.json({ status: 'ok', embedder: e.id, store }) : c.json({ status: 'loading', store }, 503);
  });
  app.get('/metrics', (c) => c.text(metrics.prometheus(), 200, { 'content-type': 'text/plain; version=0.0.4' }));
  app.get('/stats', (c) => c.json({ ...metrics.snapshot(), entries: deps.store.size() }));

  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: config.bodyLimit,
      onError: () => {
        throw new PayloadTooLargeError(config.bodyLimit);
      },
    }),
  );
  const feedbackDeps = { store: deps.store, metrics, logger, sharedCache: config.sharedCache, ...(budget && { budget }) };
  app.use('/v1/*', feedbackHeader(feedbackDeps));
  app.post('/v1/cache/feedback', feedbackRoute(feedbackDeps));
  app.post('/v1/chat/completions', cachedRoute('chat', cachedDeps));
  app.post('/v1/completions', cachedRoute('completions', cachedDeps));
  app.post('/v1/embeddings', cachedRoute('embeddings', cachedDeps));
  app.all('/v1/*', passthroughRoute(cachedDeps));
  if (config.adminToken) app.route('/admin', adminRoutes({ token: config.adminToken, store: deps.store, logger }));

  app.notFound((c) => errorResponse(new NotFoundError(c.req.path)));
  app.onError((err, c) => {
    if (c.req.raw.signal.aborted) return errorResponse(new RepriseError('Client closed the request.', 499, 'client_closed'));
    if (!(err instanceof RepriseError)) logger.error({ err: err.message, stack: err.stack }, 'unhandled error');
    return errorResponse(err);
  });
  return app;
}
