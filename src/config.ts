/** @module config: one schema for flags and env vars, parsed once into a frozen Config. */
import { z } from 'zod';

const bool = z
  .union([z.boolean(), z.string().toLowerCase().pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']))])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 'on');

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

/** "20mb", "512kb", "1048576" → bytes. */
const bytes = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(String(v));
  if (!m) {
    ctx.addIssue({ code: 'custom', message: 'expected a size such as 20mb or 1048576' });
    return z.NEVER;
  }
  const mult = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.round(Number(m[1]) * mult);
});

const url = z
  .string()
  .url()
  .refine((u) => /^https?:/.test(u), 'must be an http(s) URL')
  // Reprise forwards to the URL's origin and path; credentials in it would be dropped, a fragment means nothing.
  .refine((u) => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password), 'must not carry a user or password (clients send their own credentials)')
  .refine((u) => !u.includes('#'), 'must not have a #fragment')
  // A query (Azure's ?api-version=) is kept: each route is appended to the path and the queries merged.
  .transform((u) => u.replace(/\/+(?=\?|$)/, ''));

/**
 * Every setting: its flag, env var, default and doc. `--help` and the README table are generated from this list,
 * so a documented default is always the applied one.
 */
export const OPTIONS = {
  port: { flag: 'port', env: 'PORT', default: '8080', doc: 'port to listen on', schema: int(0, 65535) },
  host: { flag: 'host', env: 'HOST', default: '0.0.0.0', doc: 'address to bind', schema: z.string().min(1) },
  upstream: {
    flag: 'upstream',
    env: 'UPSTREAM_URL',
    default: 'https://api.openai.com/v1',
    doc: 'OpenAI-compatible base URL that misses are forwarded to',
    schema: url,
  },
  anthropicUpstream: {
    flag: 'anthropic-upstream',
    env: 'ANTHROPIC_UPSTREAM_URL',
    default: 'https://api.anthropic.com/v1',
    doc: 'Anthropic base URL that /v1/messages (and every request an Anthropic SDK sends) is forwarded to',
    schema: url,
  },
  cacheEnabled: {
    flag: 'cache',
    env: 'CACHE_ENABLED',
    default: 'true',
    doc: 'false turns Reprise into a plain pass-through proxy',
    schema: bool,
  },
  threshold: {
    flag: 'threshold',
    env: 'CACHE_THRESHOLD',
    default: '',
    doc: "cosine similarity a semantic hit needs (0-1); empty = the embedder's calibrated default",
    schema: z.union([z.literal('').transform(() => undefined), z.coerce.number().min(0).max(1)]),
  },
  verify: {
    flag: 'verify',
    env: 'CACHE_VERIFY',
    default: 'learned',
    doc: 'learned: exact-detail guards, then the learned verifier where one ships for the embedder (USE-lite), else the cosine threshold; guards: cosine threshold plus the guards only',
    schema: z.enum(['learned', 'guards']),
  },
  judgeModel: {
    flag: 'judge-model',
    env: 'CACHE_JUDGE_MODEL',
    default: '',
    doc: 'model asked through the upstream, with the caller\'s credentials, whether a borderline candidate asks the same thing; empty = off',
    schema: z.string(),
  },
  judgeBand: {
    flag: 'judge-band',
    env: 'CACHE_JUDGE_BAND',
    default: '0.03',
    doc: 'with --judge-model: candidates whose similarity is under threshold + this are judged',
    schema: z.coerce.number().min(0).max(1),
  },
  maxErrorRate: {
    flag: 'max-error-rate',
    env: 'CACHE_MAX_ERROR_RATE',
    default: '',
    doc: 'error budget for semantic hits, e.g. 0.02: learn per entry how close a query must be, exploring upstream until the evidence says the hit is right; empty = off',
    schema: z.union([z.literal('').transform(() => undefined), z.coerce.number().gt(0).lt(1)]),
  },
  verifySampleRate: {
    flag: 'verify-sample-rate',
    env: 'CACHE_VERIFY_SAMPLE_RATE',
    default: '0.05',
    doc: 'with --max-error-rate: share of would-be semantic hits sent upstream anyway to measure the served error rate',
    schema: z.coerce.number().min(0).max(1),
  },
  ttl: { flag: 'ttl', env: 'CACHE_TTL', default: '86400', doc: 'seconds an entry lives after it is stored', schema: int(1) },
  maxEntries: {
    flag: 'max-entries',
    env: 'CACHE_MAX_ENTRIES',
    default: '100000',
    doc: 'entries kept in memory before the least recently used are evicted',
    schema: int(1),
  },
  maxMemory: {
    flag: 'max-memory',
    env: 'CACHE_MAX_MEMORY',
    default: '1gb',
    doc: 'about how much memory the memory store\'s entries may take (answers, texts, vectors, index) before the least recently used are evicted',
    schema: bytes,
  },
  maxEntryBytes: {
    flag: 'max-entry-bytes',
    env: 'CACHE_MAX_ENTRY_BYTES',
    default: '4mb',
    doc: 'largest answer stored, JSON or stream; a bigger one is passed on and not stored',
    schema: bytes,
  },
  sharedCache: {
    flag: 'shared-cache',
    env: 'CACHE_SHARED',
    default: 'false',
    doc: 'true lets all API keys share one cache (by default each credential is its own tenant)',
    schema: bool,
  },
  tenantSecret: {
    flag: 'tenant-secret',
    env: 'TENANT_SECRET',
    default: '',
    doc: 'secret the tenant ids are keyed with (HMAC); replicas sharing a cache must share it; empty = one per process with the memory store, one kept in Redis with the Redis store',
    schema: z.string().refine((s) => s === '' || s.length >= 16, 'use at least 16 characters'),
  },
  tenantHeaders: {
    flag: 'tenant-headers',
    env: 'TENANT_HEADERS',
    default: '',
    doc: 'further request headers that carry a credential at your gateway, comma-separated (Authorization, api-key, x-api-key and other known ones always count)',
    schema: z
      .string()
      .refine((s) => s.split(',').every((h) => h.trim() === '' || /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(h.trim())), 'a comma-separated list of header names')
      .transform((s) =>
        s
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean),
      ),
  },
  embedModel: {
    flag: 'embed-model',
    env: 'EMBED_MODEL',
    default: 'Xenova/all-MiniLM-L6-v2',
    doc: 'Hugging Face model id or local folder for transformers.js; "bundled" = the offline USE-lite model',
    schema: z.string().min(1),
  },
  embedThreads: {
    flag: 'embed-threads',
    env: 'EMBED_THREADS',
    default: '',
    doc: 'worker threads for the bundled USE-lite model, each with its own copy of it (about 145 MiB); empty = one per core but one (the server thread needs one), 1 to 4',
    schema: z.union([z.literal('').transform(() => undefined), int(1, 256)]),
  },
  modelCacheDir: {
    flag: 'model-cache-dir',
    env: 'MODEL_CACHE_DIR',
    default: '.models',
    doc: 'where downloaded models are cached',
    schema: z.string().min(1),
  },
  embedWaitMs: {
    flag: 'embed-wait',
    env: 'EMBED_WAIT_MS',
    default: '15',
    doc: 'ms a request\'s embedding may wait for the model before the request skips the semantic lookup and goes upstream (X-Cache-Reason: embed-busy; its answer is embedded later, when the model is idle); about one embedding\'s time',
    schema: int(0),
  },
  hnswMin: {
    flag: 'hnsw-min',
    env: 'INDEX_HNSW_MIN',
    default: '256',
    doc: 'entries in one scope before its vector index switches from exact scan to HNSW',
    schema: int(1),
  },
  indexQuantization: {
    flag: 'index-quantization',
    env: 'INDEX_QUANTIZATION',
    default: 'f32',
    doc: 'how the HNSW index (memory store, and each replica\'s mirror of the Redis store) keeps vectors: f32, or i8 (half the memory per entry); scores are always re-computed exactly from the float vectors',
    schema: z.enum(['f32', 'i8']),
  },
  store: {
    flag: 'store',
    env: 'CACHE_STORE',
    default: 'memory',
    doc: 'memory (in-process) or redis (shared by replicas)',
    schema: z.enum(['memory', 'redis']),
  },
  redisUrl: {
    flag: 'redis-url',
    env: 'REDIS_URL',
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis 6+ or Valkey for --store redis; no modules needed; with --redis-cluster, one or more seed nodes, comma-separated',
    schema: z
      .string()
      .refine((s) => s.split(',').every((u) => /^rediss?:\/\//.test(u.trim())), 'must start with redis:// or rediss:// (each seed, when comma-separated)'),
  },
  redisCluster: {
    flag: 'redis-cluster',
    env: 'REDIS_CLUSTER',
    default: 'false',
    doc: 'true: --redis-url names seed nodes of a Redis Cluster, and every key of a scope stays in one hash slot',
    schema: bool,
  },
  redisShards: {
    flag: 'redis-shards',
    env: 'REDIS_SHARDS',
    default: '16',
    doc: 'with --redis-cluster: how many keys, each in its own hash slot, the event stream, the error-budget label stream and the stats index are each split into, so no master carries every replica\'s traffic; replicas sharing a cache use the same number',
    schema: int(1, 1024),
  },
  redisTimeoutMs: {
    flag: 'redis-timeout',
    env: 'REDIS_TIMEOUT_MS',
    default: '100',
    doc: 'ms a Redis command may take before the request fails open',
    schema: int(1),
  },
  redisSearch: {
    flag: 'redis-search',
    env: 'REDIS_SEARCH',
    default: 'mirror',
    doc: 'where --store redis searches vectors: mirror (an index in each replica, any Redis 6+) or server (Redis 8 vector sets; replicas hold no index)',
    schema: z.enum(['mirror', 'server']),
  },
  redisSearchEf: {
    flag: 'redis-search-ef',
    env: 'REDIS_SEARCH_EF',
    default: '200',
    doc: 'with --redis-search server: how many candidates VSIM\'s graph search keeps (its EF); higher finds the nearest entry more often in large scopes and takes longer (Redis\' own default is 100)',
    schema: int(1, 100_000),
  },
  redisPrefix: {
    flag: 'redis-prefix',
    env: 'REDIS_PREFIX',
    default: 'reprise',
    doc: 'prefix of every Redis key; replicas sharing a cache use the same one',
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'use 1-64 characters from A-Z a-z 0-9 . _ -'),
  },
  adminToken: {
    flag: 'admin-token',
    env: 'ADMIN_TOKEN',
    default: '',
    doc: 'bearer token for the admin API (purge, delete), /stats and the dashboard; empty = admin API off, /stats and the dashboard open',
    schema: z.string(),
  },
  bodyLimit: { flag: 'body-limit', env: 'BODY_LIMIT', default: '20mb', doc: 'largest request body accepted', schema: bytes },
  dashboardPrompts: {
    flag: 'dashboard-prompts',
    env: 'DASHBOARD_PROMPTS',
    default: 'false',
    doc: 'true shows prompts\' text on the dashboard and in /stats (the most-hit entries, the latest misses); off, they are listed by entry id and model only',
    schema: bool,
  },
  pricesFile: {
    flag: 'prices',
    env: 'PRICES_FILE',
    default: '',
    doc: 'JSON file of model prices, {"<model>": {"input": n, "output": n}} in USD per million tokens, over the built-in table, for money saved; empty = the built-in table',
    schema: z.string(),
  },
  upstreamTimeoutMs: {
    flag: 'upstream-timeout',
    env: 'UPSTREAM_TIMEOUT_MS',
    default: '600000',
    doc: 'ms to wait for the upstream\'s first byte (its response head); then a 504',
    schema: int(1),
  },
  upstreamConnectTimeoutMs: {
    flag: 'upstream-connect-timeout',
    env: 'UPSTREAM_CONNECT_TIMEOUT_MS',
    default: '10000',
    doc: 'ms to wait for a connection to the upstream; then a 504',
    schema: int(1),
  },
  upstreamIdleTimeoutMs: {
    flag: 'upstream-idle-timeout',
    env: 'UPSTREAM_IDLE_TIMEOUT_MS',
    default: '300000',
    doc: 'ms the upstream may go quiet between chunks of an answer; then a stream ends with an SSE error event (a JSON answer is cut), and nothing is stored',
    schema: int(1),
  },
  upstreamConcurrency: {
    flag: 'upstream-concurrency',
    env: 'UPSTREAM_CONCURRENCY',
    default: '0',
    doc: 'upstream calls under way at once; beyond it requests wait in a queue; 0 = no limit',
    schema: int(0),
  },
  upstreamQueue: {
    flag: 'upstream-queue',
    env: 'UPSTREAM_QUEUE',
    default: '1000',
    doc: 'with --upstream-concurrency: requests that may wait for an upstream call (up to 30 s); beyond it a 503 with Retry-After',
    schema: int(0),
  },
  upstreamConnections: {
    flag: 'upstream-connections',
    env: 'UPSTREAM_CONNECTIONS',
    default: '128',
    doc: 'keep-alive connections per upstream origin',
    schema: int(1),
  },
  drainTimeout: {
    flag: 'drain-timeout',
    env: 'DRAIN_TIMEOUT',
    default: '30',
    doc: 'seconds a shutdown (SIGTERM, SIGINT) waits for requests under way to finish and store their answers before it cuts them',
    schema: int(0, 3600),
  },
  logLevel: {
    flag: 'log-level',
    env: 'LOG_LEVEL',
    default: 'info',
    doc: 'fatal, error, warn, info, debug, trace or silent',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  },
  logFormat: {
    flag: 'log-format',
    env: 'LOG_FORMAT',
    default: 'auto',
    doc: 'pretty: readable lines; json: one JSON object per line; auto: pretty on a terminal, json when piped or in a container',
    schema: z.enum(['auto', 'json', 'pretty']),
  },
} as const;

type Options = typeof OPTIONS;
export type Config = Readonly<{ [K in keyof Options]: z.output<Options[K]['schema']> }>;
export type OptionName = keyof Options;

/** A bad setting: the message names the flag and env var. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parse settings. `flags` win over `env`, which wins over defaults.
 * @param flags values by flag name (e.g. `{ port: '9000', 'embed-model': 'bundled' }`)
 * @param env environment variables (Node: process.env; Workers: bindings)
 */
export function parseConfig(flags: Record<string, string | boolean | undefined>, env: Record<string, unknown>): Config {
  const out: Record<string, unknown> = {};
  for (const [name, opt] of Object.entries(OPTIONS) as [OptionName, Options[OptionName]][]) {
    // An empty or blank value means "not set" (a common shell/compose accident), never 0 or "".
    const given = (v: unknown) => v !== undefined && v !== null && String(v).trim() !== '';
    const raw = [flags[opt.flag], env[opt.env]].find(given) ?? opt.default;
    const parsed = (opt.schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => i.message).join('; ');
      throw new ConfigError(`invalid setting --${opt.flag} / ${opt.env} = ${JSON.stringify(raw)}: ${why}`);
    }
    out[name] = parsed.data;
  }
  // A list of seeds only means something to the cluster client; the single-node one would read it as one odd URL.
  if (out.redisCluster !== true && String(out.redisUrl).includes(',')) {
    throw new ConfigError(`invalid setting --redis-url / REDIS_URL = ${JSON.stringify(redactUrlList(String(out.redisUrl)))}: several seed nodes need --redis-cluster / REDIS_CLUSTER=true`);
  }
  return Object.freeze(out) as Config;
}

/** The `--help` text, built from OPTIONS. */
export function helpText(): string {
  const rows = Object.values(OPTIONS).map(
    (o) => `  --${o.flag.padEnd(22)} ${o.env.padEnd(22)} ${o.doc}${o.default === '' ? '' : ` (default: ${o.default})`}`,
  );
  return [
    'reprise: a semantic caching proxy for OpenAI-compatible APIs',
    '',
    'Usage: reprise [options]        every option can also be set by its env var',
    '',
    `  ${'flag'.padEnd(24)} ${'env'.padEnd(22)} meaning`,
    ...rows,
    `  --${'help'.padEnd(22)} ${''.padEnd(22)} show this text`,
  ].join('\n');
}

/**
 * A URL as it may be logged: user and password, and every query value, replaced by "***" (an upstream URL can carry
 * a key in its query, a Redis URL a password that itself holds an "@").
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username) u.username = '***';
    if (u.password) u.password = '***';
    const names = [...new Set([...u.searchParams.keys()])];
    u.search = names.length ? `?${names.map((n) => `${encodeURIComponent(n)}=***`).join('&')}` : '';
    return u.toString();
  } catch {
    // Not a URL we can read: keep only the scheme, so nothing secret can leak through the log.
    return `${/^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? ''}//***`;
  }
}

/** redactUrl() of each URL of a comma-separated list (a cluster's seeds). */
function redactUrlList(list: string): string {
  return list
    .split(',')
    .map((u) => redactUrl(u.trim()))
    .join(',');
}

/** The settings as logged at start-up: secrets masked (admin token, tenant secret, credentials and query values in URLs). */
export function redactedSettings(config: Config): Record<string, unknown> {
  return {
    ...config,
    adminToken: config.adminToken ? '[set]' : '',
    tenantSecret: config.tenantSecret ? '[set]' : '',
    upstream: redactUrl(config.upstream),
    anthropicUpstream: redactUrl(config.anthropicUpstream),
    redisUrl: redactUrlList(config.redisUrl),
  };
}
