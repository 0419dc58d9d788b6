/**
 * @module node/server: Reprise on Node. Config → the Node parts (undici, usearch, transformers.js or the bundled
 * model, pino, the store) → the handler → the Node front (node/listener.ts) on node:http.
 */
import { hash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConfigError, type Config } from '../config.js';
import { randomSecret } from '../cache/tenant.js';
import { createHandler, type AppDeps, type Handler } from '../handle.js';
import type { DashboardAssets } from '../routes/dashboard.js';
import { loadEmbedder } from '../embed/load.js';
import type { Embedder } from '../embed/types.js';
import type { Logger } from '../observe/logger.js';
import { Metrics } from '../observe/metrics.js';
import { parsePrices, prices, type Price } from '../observe/prices.js';
import { hnswFactory } from '../store/hnsw-index.js';
import { MemoryStore } from '../store/memory.js';
import { RedisStore } from '../store/redis.js';
import type { IndexFactory, Store } from '../store/types.js';
import { createUndiciUpstream } from '../upstream/undici.js';
import { createListener, type Listener } from './listener.js';
import { createLogger } from './logger.js';

export interface StartOptions {
  /** use this embedder instead of loading `config.embedModel` */
  embedder?: Embedder | Promise<Embedder>;
  logger?: Logger;
  store?: Store;
  now?: () => number;
  /**
   * With a store replicas share (Store.shareStats): ms between shares of this replica's stats, which the others'
   * /stats add up; they are kept for 3 × this, so a replica that stops sharing drops out after that. @default 5000
   */
  statsShareMs?: number;
}

export interface Running {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  metrics: Metrics;
  store: Store;
  /** resolves when the embedder has loaded */
  ready: Promise<Embedder>;
  /** requests whose responses have not closed yet */
  inFlight(): number;
  /**
   * Stop accepting connections, let the requests under way finish (and store their answers) for up to `drainMs`,
   * cut what is left, then release the store and the upstream pool. @default drainMs 0: cut at once
   */
  close(opts?: { drainMs?: number }): Promise<void>;
}

/** Everything a front needs on Node, made from the config; `close` releases it. */
export interface NodeParts {
  deps: AppDeps;
  handler: Handler;
  /** the undici Agent the Node front forwards over */
  dispatcher: ReturnType<typeof createUndiciUpstream>['dispatcher'];
  logger: Logger;
  ready: Promise<Embedder>;
  close(): Promise<void>;
}

/**
 * node:crypto's SHA-256, several times faster than pure JS on long bodies (cache/raw-exact.ts). The bytes are read
 * as latin1, one character per byte, so the string stands for them exactly; the prefix delimits its own fields.
 */
const nodeHashBytes = (prefix: string, bytes: Uint8Array) =>
  hash('sha256', prefix + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'), 'hex');

export async function nodeParts(config: Config, opts: StartOptions = {}): Promise<NodeParts> {
  const logger = opts.logger ?? createLogger(config.logLevel, config.logFormat);
  const store = opts.store ?? createStore(config, logger, opts.now);
  if (store instanceof RedisStore) await store.start();
  const upstream = createUndiciUpstream({
    connections: config.upstreamConnections,
    timeoutMs: config.upstreamTimeoutMs,
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
    idleTimeoutMs: config.upstreamIdleTimeoutMs,
  });

  let embedder: Embedder | undefined;
  const ready = Promise.resolve(opts.embedder ?? loadEmbedder({ model: config.embedModel, cacheDir: config.modelCacheDir, logger, threads: config.embedThreads }));
  ready.then(
    (e) => (embedder = e),
    (err) => logger.error({ err: String(err) }, 'no embedder could be loaded; serving as a pass-through proxy'),
  );
  const deps: AppDeps = {
    config,
    dashboardAssets: dashboardAssets(),
    tenantSecret: tenantSecret(config, store, logger),
    store,
    embedder: () => embedder,
    upstream: upstream.fetch,
    logger,
    metrics: new Metrics({ prices: prices(config.pricesFile ? readPrices(config.pricesFile) : {}), ...(opts.now && { now: opts.now }), prompts: config.dashboardPrompts }),
    now: opts.now ?? Date.now,
    hashBytes: nodeHashBytes,
    hashText: (text: string) => hash('sha256', text, 'hex'),
  };
  const handler = createHandler(deps);
  const stopSharing = shareStats(store, handler, logger, opts.statsShareMs ?? STATS_SHARE_MS);
  return {
    deps,
    handler,
    dispatcher: upstream.dispatcher,
    logger,
    ready,
    async close() {
      stopSharing();
      await upstream.close();
      if (store instanceof RedisStore) await store.close();
      // Only an embedder made here: one passed in (tests share one) belongs to whoever made it.
      if (!opts.embedder) await ready.then((e) => e.close?.(), () => {});
    },
  };
}

/** How often a replica shares its stats with the others, by default. */
const STATS_SHARE_MS = 5_000;
/** How often to look again while the store is still connecting at start-up, so the first share comes at once. */
const STATS_CONNECTING_MS = 25;

/**
 * With a store replicas share: this replica's stats shared now (as soon as the store has connected), then every
 * `everyMs`, each kept 3 × `everyMs` so that one missed share loses nothing. A failed share is never thrown: it is
 * logged once per outage (and once when sharing works again). Returns a stop function; the timer never holds the
 * process open.
 */
function shareStats(store: Store, handler: Handler, logger: Logger, everyMs: number): () => void {
  if (!store.shareStats) return () => {};
  const ttlSeconds = (3 * everyMs) / 1000;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failing = false;
  const next = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = async () => {
    // Still connecting at start-up: not an outage, and the first share should not wait a whole interval.
    if (store.status === 'connecting') return next(STATS_CONNECTING_MS);
    try {
      await store.shareStats!(handler.replicaStats(), ttlSeconds);
      if (failing) logger.info({}, 'sharing this replica\'s stats again');
      failing = false;
    } catch (err) {
      // Once per outage; at debug when the store has already said that Redis is down.
      if (!failing) logger[store.status === 'down' ? 'debug' : 'warn']({ err: String(err) }, 'could not share this replica\'s stats; the others\' /stats leave it out until it can');
      failing = true;
    }
    next(everyMs);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * The tenant secret: the configured one; with the Redis store, the one the replicas share in Redis (fetched once
 * Redis answers, retried until it does); else one for this process.
 */
function tenantSecret(config: Config, store: Store, logger: Logger): Uint8Array | Promise<Uint8Array> {
  if (config.tenantSecret) return new TextEncoder().encode(config.tenantSecret);
  if (!(store instanceof RedisStore)) return randomSecret();
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
  return (async () => {
    for (;;) {
      if (store.closed) throw new Error('store closed');
      // Asked as soon as Redis is up: until then requests pass through.
      if (store.status !== 'ready') {
        await pause(25);
        continue;
      }
      try {
        const secret = await store.sharedSecret('tenant-secret');
        logger.info({}, 'tenant secret shared through redis');
        return secret;
      } catch (err) {
        logger.debug({ err: String(err) }, 'could not read the tenant secret from redis yet');
        await pause(100);
      }
    }
  })();
}

/** Listen on `config.port` with `listener`; resolves once listening. */
async function listen(config: Config, listener: Listener): Promise<{ server: Server; url: string; port: number }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return { server, url: `http://${host}:${port}`, port };
}

/** Serve `listener` (a front made from `parts`) on `config.port`; `close` stops it and releases the parts. */
export async function serve(config: Config, parts: NodeParts, listener: Listener): Promise<Running> {
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;
  // Every request is counted until its response has closed, so a shutdown can wait for the ones under way.
  const counted: Listener = (req, res) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (!draining) return;
      // A keep-alive connection that has nothing more under way goes now, so that the server can close.
      server.closeIdleConnections();
      if (inFlight === 0) drained?.();
    });
    listener(req, res);
  };
  const { server, url, port } = await listen(config, counted);
  return {
    url,
    port,
    metrics: parts.handler.metrics,
    store: parts.deps.store,
    ready: parts.ready,
    inFlight: () => inFlight,
    async close(opts = {}) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const drainMs = opts.drainMs ?? 0;
      if (inFlight > 0 && drainMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs))),
        ]);
        clearTimeout(timer);
      }
      // What is still under way past the deadline is cut.
      server.closeAllConnections();
      await closed;
      await parts.close();
    },
  };
}

export async function startReprise(config: Config, opts: StartOptions = {}): Promise<Running> {
  const parts = await nodeParts(config, opts);
  return serve(config, parts, createListener(parts.handler, parts));
}

/** How the store's per-scope vector indexes are made, from the config. */
export function indexOptions(config: Config): { hnswMin: number; largeIndex: IndexFactory } {
  return { hnswMin: config.hnswMin, largeIndex: hnswFactory({ quantization: config.indexQuantization }) };
}

function createStore(config: Config, logger: Logger, now?: () => number): Store {
  const index = { ...indexOptions(config), ...(now && { now }) };
  if (config.store === 'redis') {
    const cluster = config.redisCluster ? { cluster: true, shards: config.redisShards } : {};
    return new RedisStore({ url: config.redisUrl, ...cluster, prefix: config.redisPrefix, timeoutMs: config.redisTimeoutMs, search: config.redisSearch, searchEf: config.redisSearchEf, logger, ...index });
  }
  return new MemoryStore({ maxEntries: config.maxEntries, maxBytes: config.maxMemory, ...index });
}

/** The --prices file, checked: a start-up error that names the file and what is wrong with it. */
function readPrices(file: string): Record<string, Price> {
  try {
    return parsePrices(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new ConfigError(`--prices ${file}: ${(err as Error).message}`);
  }
}

/** uPlot's files, from the package, for the dashboard page (no CDN: the page loads only what Reprise serves). */
function dashboardAssets(): DashboardAssets {
  const dir = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
  return { 'uplot.js': readFileSync(join(dir, 'uPlot.iife.min.js'), 'utf8'), 'uplot.css': readFileSync(join(dir, 'uPlot.min.css'), 'utf8') };
}
