/**
 * @module worker: the Cloudflare Workers entry. Bindings → deps → the Web front (app.ts), made once per isolate and
 * kept, so the isolate's memory tiers (recent entries, raw bodies, embeddings, flights) and counters last across
 * its requests. Everything else is the pipeline every runtime shares.
 *
 * Every binding is optional (wrangler.toml, README "Deploy to Cloudflare"): without Workers AI the Worker keys
 * every request exact-only; without Vectorize it searches nothing; without KV it keeps entries in the isolate's
 * memory only. /healthz says which.
 */
import type { ExecutionContext as HonoExecutionContext, Hono } from 'hono';
import { createApp } from './app.js';
import { RerankJudge, RERANKER_DEFAULT_MODEL } from './cache/rerank-judge.js';
import { ConfigError, parseConfig, type Config } from './config.js';
import { EXACT_ONLY } from './embed/exact-only.js';
import { MemoEmbedder } from './embed/memo.js';
import type { Embedder } from './embed/types.js';
import { WORKERS_AI_DEFAULT_MODEL, WorkersAiEmbedder, type Pooling } from './embed/workers-ai.js';
import { createHandler, type AppDeps, type Handler } from './handle.js';
import { Metrics } from './observe/metrics.js';
import type { Logger } from './observe/logger.js';
import { KvVectorizeStore } from './store/kv-vectorize.js';
import { createFetchUpstream } from './upstream/fetch.js';
import { MemoryStore } from './store/memory.js';
import type { Store } from './store/types.js';
import type { EdgeCache, ExecutionContext, WorkerEnv } from './worker/bindings.js';
import { workerDashboardAssets } from './worker/dashboard-assets.js';
import { nativeHashBytes, nativeHashText } from './worker/native-hash.js';

export { StatsObject } from './worker/stats-object.js';

/** How often an isolate shares its stats with the stats object, at most (after a request, never on a timer). */
const STATS_SHARE_MS = 10_000;
/**
 * How long an isolate's shared stats count: an hour, the dashboard's span. Isolates come and go; one that served
 * in the last hour counts until its hour is up.
 */
const STATS_TTL_SECONDS = 3600;

/** The Worker's own settings, beyond the ones it shares with Node (config.ts). */
export interface WorkerSettings {
  embedModel: string;
  pooling: Pooling;
  /** empty: no reranker */
  reranker: string;
  rerankMinScore: number;
  /** 0: no Cache API tier */
  edgeCacheSeconds: number;
  joinWaitMs: number;
}

function text(env: WorkerEnv, name: string): string | undefined {
  const v = env[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function number(env: WorkerEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`invalid setting ${name} = ${JSON.stringify(raw)}: expected a number from ${min} to ${max}`);
  return n;
}

export function workerSettings(env: WorkerEnv): WorkerSettings {
  const pooling = text(env, 'EMBED_POOLING') ?? 'mean';
  if (pooling !== 'mean' && pooling !== 'cls') throw new ConfigError(`invalid setting EMBED_POOLING = ${JSON.stringify(pooling)}: expected mean or cls`);
  const reranker = text(env, 'RERANKER') ?? '';
  return {
    // The Node default (the bundled model) does not run on Workers: the Worker's default is Workers AI's.
    embedModel: text(env, 'EMBED_MODEL') ?? WORKERS_AI_DEFAULT_MODEL,
    pooling,
    reranker: reranker === 'on' || reranker === 'true' ? RERANKER_DEFAULT_MODEL : reranker === 'off' || reranker === 'false' ? '' : reranker,
    rerankMinScore: number(env, 'RERANK_MIN_SCORE', 0.9, 0, 1),
    edgeCacheSeconds: number(env, 'EDGE_CACHE_SECONDS', 0, 0, 86_400),
    joinWaitMs: number(env, 'JOIN_WAIT_MS', 30_000, 0, 300_000),
  };
}

/** The Worker's logger: one JSON line per record to the console, which Workers Logs collects. */
function consoleLogger(level: Config['logLevel']): Logger {
  const order = ['debug', 'info', 'warn', 'error'];
  const min = level === 'silent' ? Infinity : order.indexOf(level);
  const at = (name: 'debug' | 'info' | 'warn' | 'error') => (fields: Record<string, unknown>, msg?: string) => {
    if (order.indexOf(name) >= min) console[name === 'debug' ? 'log' : name](JSON.stringify({ level: name, msg, ...fields }));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface WorkerParts {
  app: Hono;
  handler: Handler;
  store: Store;
  /** what /healthz reports of the bindings */
  modes: { entries: 'kv' | 'memory'; search: 'vectorize' | 'none'; embedder: string; reranker: string; edgeCache: boolean };
}

/** The Worker's parts, made from its bindings. `edge`: the Cache API's cache (caches.default on Workers). */
export function workerParts(env: WorkerEnv, edge?: EdgeCache): WorkerParts {
  const config = parseConfig({}, env);
  const settings = workerSettings(env);
  const logger = consoleLogger(config.logLevel);
  const edgeCache = settings.edgeCacheSeconds > 0 && edge !== undefined;
  const store: Store = env.CACHE
    ? new KvVectorizeStore({
        kv: env.CACHE,
        ...(env.VECTORS && env.AI && { vectors: env.VECTORS }),
        ...(edgeCache && { edge, edgeSeconds: settings.edgeCacheSeconds }),
        ...(env.STATS && { stats: env.STATS }),
      })
    : // Without KV nothing outlives the isolate: a small cache of its own, as on Node without Redis.
      new MemoryStore({ maxBytes: 16 * 1024 * 1024 });
  // Without Workers AI nothing can be embedded: every request is keyed exact-only.
  const embedder: Embedder = env.AI ? new MemoEmbedder(new WorkersAiEmbedder({ ai: env.AI, model: settings.embedModel, pooling: settings.pooling }), 10_000, 8 * 1024 * 1024) : EXACT_ONLY;
  const ai = env.AI;
  const judge = ai && settings.reranker ? new RerankJudge({ run: (model, inputs) => ai.run(model, inputs), model: settings.reranker, minScore: settings.rerankMinScore }) : undefined;
  if (!config.tenantSecret) logger.warn({}, 'TENANT_SECRET is not set: the cache is off, every request is passed through (set it with `wrangler secret put TENANT_SECRET`)');
  const deps: AppDeps = {
    // CACHE_JUDGE_BAND applies to the reranker as to the LLM judge; with no reranker, CACHE_JUDGE_MODEL works as on Node.
    // A Worker is on the public internet: its metrics and stats are the operator's alone.
    config: { ...config, privateOps: true },
    // Isolates share the cache, so they must key tenants alike: without a configured secret nothing is cached.
    tenantSecret: config.tenantSecret ? new TextEncoder().encode(config.tenantSecret) : new Promise<Uint8Array>(() => {}),
    store,
    dashboardAssets: workerDashboardAssets,
    embedder: () => embedder,
    upstream: createFetchUpstream({ timeoutMs: config.upstreamTimeoutMs, idleTimeoutMs: config.upstreamIdleTimeoutMs }),
    logger,
    metrics: new Metrics({ prompts: config.dashboardPrompts }),
    hashText: nativeHashText,
    hashBytes: nativeHashBytes,
    ...(judge && { judge }),
    // workerd does not let one request read a stream another request is reading (DESIGN: the Worker).
    shareStreams: false,
    // Nor may work outlive its request but through waitUntil: no background embedding.
    backgroundWork: false,
    joinWaitMs: settings.joinWaitMs,
  };
  const handler = createHandler(deps);
  const app = createApp(deps, handler);
  const modes: WorkerParts['modes'] = {
    entries: env.CACHE ? 'kv' : 'memory',
    search: env.CACHE && env.VECTORS && env.AI ? 'vectorize' : 'none',
    embedder: embedder.id,
    reranker: judge ? settings.reranker : 'none',
    edgeCache,
  };
  return { app, handler, store, modes };
}

/** One set of parts per isolate, made at its first request (bindings are known only then). */
let parts: { env: WorkerEnv; parts: WorkerParts } | { env: WorkerEnv; error: ConfigError } | undefined;
let lastShare = 0;

function partsFor(env: WorkerEnv): WorkerParts | ConfigError {
  if (parts?.env !== env) {
    // New parts are a new replica (its own id and counters, handle.ts) that has shared nothing yet.
    lastShare = 0;
    try {
      parts = { env, parts: workerParts(env, (globalThis as { caches?: { default?: EdgeCache } }).caches?.default) };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      parts = { env, error: err };
    }
  }
  return 'error' in parts ? parts.error : parts.parts;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    const p = partsFor(env);
    if (p instanceof ConfigError) {
      // A setting the operator got wrong: said plainly, never a 500 with a stack.
      return Response.json({ error: { message: p.message, type: 'server_error', code: 'bad_config' } }, { status: 500 });
    }
    const path = new URL(request.url).pathname;
    if (path === '/healthz' && (request.method === 'GET' || request.method === 'HEAD')) return health(p, request);
    const response = await p.app.fetch(request, env, ctx as HonoExecutionContext);
    const now = Date.now();
    if (p.store.shareStats && now - lastShare >= STATS_SHARE_MS && env.STATS) {
      lastShare = now;
      ctx.waitUntil(p.store.shareStats(p.handler.replicaStats(), STATS_TTL_SECONDS).catch(() => {}));
    }
    return response;
  },
};

/** /healthz as on Node, plus what this Worker can do with the bindings it has. */
async function health(p: WorkerParts, request: Request): Promise<Response> {
  const answer = await p.app.fetch(request);
  if (request.method === 'HEAD' || !answer.ok) return answer;
  const body = (await answer.json()) as Record<string, unknown>;
  return Response.json({ ...body, ...p.modes, cache: body.store === 'connecting' ? 'off: TENANT_SECRET is not set' : p.modes.search === 'vectorize' ? 'semantic' : 'exact-only' }, { status: answer.status });
}
