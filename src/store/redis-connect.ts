/**
 * @module store/redis-connect: the one place Redis connections are made, for the store, its mirror and the labels
 * channel: one node (ioredis `Redis`) or a Redis Cluster (ioredis `Cluster`, from one or more comma-separated seed
 * URLs). Both fail fast: nothing queues while a node is away, every command has a timeout, and a fault reaches the
 * caller at once so the request fails open.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** What the store talks to: one node, or a cluster that routes each command to the master of its key's slot. */
export type RedisClient = Redis | Cluster;

export interface ConnectOptions {
  /** redis://[user:pass@]host:port[/db]; with `cluster`, one or more such URLs, comma-separated (the seeds) */
  url: string;
  /** @default false */
  cluster?: boolean;
  /** ms a command may take; none when absent (the mirror's blocking XREAD) */
  commandTimeoutMs?: number;
}

/** A seed of a cluster, from one URL of the list. */
export interface Seed {
  host: string;
  port: number;
}

/** The seeds of a comma-separated URL list, and the credentials and TLS the first URL that has them names. */
export function parseSeeds(list: string): { seeds: Seed[]; username?: string; password?: string; tls: boolean } {
  const urls = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => new URL(s));
  if (urls.length === 0) throw new Error('no Redis seed URL given');
  const withAuth = urls.find((u) => u.password !== '' || u.username !== '');
  return {
    seeds: urls.map((u) => ({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port === '' ? 6379 : Number(u.port) })),
    ...(withAuth?.username && { username: decodeURIComponent(withAuth.username) }),
    ...(withAuth?.password && { password: decodeURIComponent(withAuth.password) }),
    tls: urls.some((u) => u.protocol === 'rediss:'),
  };
}

/** Reconnect delays: quick at first, never more than a second apart, so caching resumes soon after an outage. */
const backoff = (times: number) => Math.min(50 * 2 ** times, 1_000);

/** Options every connection shares: no offline queue, no retries of a failed command (the request fails open). */
const FAIL_FAST = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
} as const;

/** A connection, not yet connected (call connect()). */
export function connectRedis(opts: ConnectOptions): RedisClient {
  const timeout = opts.commandTimeoutMs !== undefined ? { commandTimeout: opts.commandTimeoutMs } : {};
  if (!opts.cluster) return new Redis(opts.url, { ...FAIL_FAST, ...timeout, retryStrategy: backoff });
  const { seeds, username, password, tls } = parseSeeds(opts.url);
  const node: RedisOptions = {
    ...timeout,
    maxRetriesPerRequest: 0,
    connectTimeout: FAIL_FAST.connectTimeout,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(tls && { tls: {} }),
  };
  const options: ClusterOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    redisOptions: node,
    // No seed reachable (all down, or not yet up): try again, as the single-node client does.
    clusterRetryStrategy: backoff,
    // A command that meets a lost master or CLUSTERDOWN (a failover under way) fails at once, rather than being
    // retried in ioredis' delay queue past the command timeout: the request goes upstream now. A MOVED reply (the
    // slot has a new master) is still followed at once, and refreshes the slot map.
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    retryDelayOnTryAgain: 20,
    maxRedirections: 6,
    // The slot map is also refreshed on a timer, so a promoted replica is found even by a replica with no traffic.
    slotsRefreshInterval: 2_000,
    slotsRefreshTimeout: 1_000,
  };
  return new Cluster(seeds, options);
}

export function isCluster(c: RedisClient): c is Cluster {
  return c instanceof Cluster;
}

/** The nodes a SCAN must walk to see every key: the one node, or every master of the cluster. */
export function scanTargets(c: RedisClient): Redis[] {
  return isCluster(c) ? c.nodes('master') : [c];
}

/**
 * Resolves once every master's connection is up (at once on one node). Right after a cluster is ready its node
 * connections are still opening, and a command sent meanwhile fails at once (no offline queue): waiting for them
 * first keeps the first requests from failing open for no reason.
 */
export async function nodesConnected(c: RedisClient): Promise<void> {
  if (!isCluster(c)) return;
  await Promise.all(c.nodes('master').map((n) => (n.status === 'ready' ? undefined : n.ping().catch(() => {}))));
}
