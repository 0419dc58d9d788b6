/** @module server: wire Node deps (undici, usearch, transformers.js, pino) into the app and listen. */
import { getRequestListener } from '@hono/node-server';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, createCacheDeps, type AppDeps } from './app.js';
import { find } from './cache/find.js';
import type { Config } from './config.js';
import { loadEmbedder } from './embed/load.js';
import type { Embedder } from './embed/types.js';
import type { Logger } from './observe/logger.js';
import { Metrics } from './observe/metrics.js';
import { createLogger } from './node/logger.js';
import { createFastPath, type FastPathStats } from './node/fast-path.js';
import { RawExact } from './node/raw-exact.js';
import { hnswFactory } from './store/hnsw-index.js';
import { MemoryStore } from './store/memory.js';
import { RedisStore } from './store/redis.js';
import type { Store } from './store/types.js';
import { createUndiciUpstream } from './upstream/undici.js';

export interface StartOptions {
  /** use this embedder instead of loading `config.embedModel` */
  embedder?: Embedder | Promise<Embedder>;
  logger?: Logger;
  store?: Store;
  now?: () => number;
  /** answer hot requests on node:http before the app (src/node/fast-path.ts); false = the app handles all @default true */
  fastPath?: boolean;
}

export interface Running {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  metrics: Metrics;
  store: Store;
  /** what the fast path answered (all zero with `fastPath: false`) */
  fastPath: FastPathStats;
  /** resolves when the embedder has loaded */
  ready: Promise<Embedder>;
  close(): Promise<void>;
}

export async function startReprise(config: Config, opts: StartOptions = {}): Promise<Running> {
  const logger = opts.logger ?? createLogger(config.logLevel, config.logFormat);
  const metrics = new Metrics();
  const store = opts.store ?? createStore(config, logger, opts.now);
  if (store instanceof RedisStore) await store.start();
  const upstream = createUndiciUpstream({ connections: config.upstreamConnections, timeoutMs: config.upstreamTimeoutMs });

  let embedder: Embedder | undefined;
  const ready = Promise.resolve(opts.embedder ?? loadEmbedder({ model: config.embedModel, cacheDir: config.modelCacheDir, logger }));
  ready.then(
    (e) => (embedder = e),
    (err) => logger.error({ err: String(err) }, 'no embedder could be loaded; serving as a pass-through proxy'),
  );

  const now = opts.now ?? Date.now;
  const exact = new RawExact({ store, metrics, logger, now, sharedCache: config.sharedCache });
  const fastOn = opts.fastPath !== false;
  const appDeps: AppDeps = {
    config,
    store,
    embedder: () => embedder,
    upstream: upstream.fetch,
    logger,
    metrics,
    now,
    ...(fastOn && { onKey: exact.onKey, prefound: (env: unknown) => fast.prefound(env) }),
  };
  const cachedDeps = createCacheDeps(appDeps);
  const app = createApp(appDeps, cachedDeps);

  // What @hono/node-server's serve() does, with the fast path in front of the app.
  const appListener = getRequestListener(app.fetch, { hostname: config.host });
  const fast = createFastPath({
    app: appListener,
    appWithBody: getRequestListener(app.fetch, { hostname: config.host, autoCleanupIncoming: false }),
    exact,
    forward: { dispatcher: upstream.dispatcher, logger },
    upstreamUrl: config.upstream,
    hostname: config.host,
    bodyLimit: config.bodyLimit,
    cacheEnabled: config.cacheEnabled,
    ttl: config.ttl,
    embedder: () => embedder,
    find: (parsed, headers, policy, e) => find(cachedDeps, parsed, headers, policy, e),
    metrics,
    logger,
  });
  const server = createServer(fastOn ? fast.listener : appListener);
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return {
    url: `http://${host}:${port}`,
    port,
    metrics,
    store,
    fastPath: fast.stats,
    ready,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await upstream.close();
      if (store instanceof RedisStore) await store.close();
    },
  };
}

function createStore(config: Config, logger: Logger, now?: () => number): Store {
  const index = { hnswMin: config.hnswMin, largeIndex: hnswFactory(), ...(now && { now }) };
  if (config.store === 'redis') {
    return new RedisStore({ url: config.redisUrl, prefix: config.redisPrefix, timeoutMs: config.redisTimeoutMs, logger, ...index });
  }
  return new MemoryStore({ maxEntries: config.maxEntries, ...index });
}
