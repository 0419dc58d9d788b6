/**
 * @module node/raw-exact: exact hits answered from a request's raw bytes, before any Web object is built, and the
 * hit response the fast path writes for exact and semantic hits alike.
 *
 * The app computes a request's cache key from its body and a few headers (cache/key.ts). The same bytes always
 * give the same key, so once the app has told us (AppDeps.onKey) which key a raw request had, a byte-identical
 * request can look its entry up directly: no JSON parse, no validation, no Request/Headers/AbortSignal. The raw
 * key hashes everything the cache key depends on: the route, the tenant headers (Authorization and api-key, as
 * tenantOf reads them; left out in shared-cache mode, where every credential is one tenant), x-cache-namespace and
 * the body bytes. It maps to the key, never to an entry: the entry is always read from the store, so an entry that
 * was evicted, deleted by feedback or purge, or expired is never served from here.
 */
import { hash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { CacheKey } from '../cache/key.js';
import { replaySse, responseJson } from '../cache/serialized.js';
import { usageTokens, type Completion } from '../openai/completion.js';
import type { Endpoint, ParsedRequest } from '../openai/request.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';
import type { Entry, Store } from '../store/types.js';
import type { RequestHead } from './request-head.js';

/** What a raw request turned out to be, as far as serving an exact hit goes. */
export interface Learned {
  scope: string;
  textKey: string;
  endpoint: Endpoint;
  /** answer with an SSE replay (stream: true on a completion endpoint) */
  sse: boolean;
  includeUsage: boolean;
}

export interface RawExactDeps {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  /** the app's clock, for Age */
  now: () => number;
  sharedCache: boolean;
  /** raw keys remembered, least recently used dropped first @default 50000 */
  maxKeys?: number;
}

/** The bytes sent for an entry, per entry object (see cache/serialized.ts). */
interface Bytes {
  json?: Buffer;
  sse?: Buffer;
  sseUsage?: Buffer;
}

const list = (values: string[]) => `${values.length}${values.map((v) => `|${v.length}:${v}`).join('')}\n`;

export class RawExact {
  private readonly learned: LRUCache<string, Learned>;
  /** requests handed to the app whose key we want to learn, with their raw key */
  private readonly pending = new WeakMap<IncomingMessage, string>();
  private readonly bytes = new WeakMap<Entry, Bytes>();

  constructor(private readonly deps: RawExactDeps) {
    this.learned = new LRUCache({ max: deps.maxKeys ?? 50_000 });
  }

  /** SHA-256 over the route, the headers the key depends on and the body; the fields are length-prefixed. */
  rawKey(path: string, head: RequestHead, body: Buffer): string {
    const who = this.deps.sharedCache ? 'shared\n' : list(head.authorization) + list(head.apiKey);
    // latin1 maps each byte to one character, so the string stands for the bytes exactly.
    return hash('sha256', `${path}\n${who}${list(head.namespace)}${body.toString('latin1')}`, 'base64');
  }

  /** The app is about to handle `req`: if it computes a key, remember it under `raw`. */
  expect(req: IncomingMessage, raw: string): void {
    this.pending.set(req, raw);
  }

  /** AppDeps.onKey: on Node, the app's env is @hono/node-server's `{ incoming, outgoing }`. */
  readonly onKey = (env: unknown, key: CacheKey, req: ParsedRequest): void => {
    const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const raw = incoming && this.pending.get(incoming);
    if (raw === undefined) return;
    this.pending.delete(incoming!);
    this.learn(raw, key, req);
  };

  /** Remember that `raw` is the request `req` with cache key `key`; returns what was learned. */
  learn(raw: string, key: CacheKey, req: ParsedRequest): Learned {
    const sse = req.stream && req.endpoint !== 'embeddings';
    const known: Learned = { scope: key.scope, textKey: key.textKey, endpoint: req.endpoint, sse, includeUsage: req.includeUsage };
    this.learned.set(raw, known);
    return known;
  }

  /** What the app said `raw` is, if it has seen it. */
  find(raw: string): Learned | undefined {
    return this.learned.get(raw);
  }

  /** The entry to serve, read from the store every time. */
  entry(known: Learned): Promise<Entry | undefined> {
    return this.deps.store.getExact(known.scope, known.textKey);
  }

  /**
   * Answer with `entry` as the app answers a hit (cache/respond.ts hitResponse): the same status, headers, body,
   * metrics and log line. An exact hit by default; the fast path's semantic hits pass their match and similarity.
   */
  writeHit(res: ServerResponse, path: string, known: Learned, entry: Entry, start: number, match: 'exact' | 'semantic' = 'exact', score = 1): void {
    const { metrics, logger, now } = this.deps;
    const similarity = score.toFixed(4);
    // Everything that can fail is worked out before the first byte goes out: until then, the app can still answer.
    const body = this.body(entry, known.sse ? (known.includeUsage ? 'sseUsage' : 'sse') : 'json');
    const tokens = known.endpoint === 'embeddings' ? 0 : usageTokens(entry.response as Completion);
    // Headers as cache/respond.ts hitResponse has them once @hono/node-server writes them: names in the sorted
    // order of a Headers object, and Content-Length spelled as the adapter spells it.
    const age = String(Math.max(0, Math.floor((now() - entry.createdAt) / 1000)));
    if (known.sse) {
      res.writeHead(200, {
        age,
        'cache-control': 'no-cache',
        'content-type': 'text/event-stream; charset=utf-8',
        'x-cache-id': entry.id,
        'x-cache-match': match,
        'x-cache-similarity': similarity,
        'x-cache-status': 'HIT',
      });
    } else {
      res.writeHead(200, {
        age,
        'content-type': 'application/json',
        'x-cache-id': entry.id,
        'x-cache-match': match,
        'x-cache-similarity': similarity,
        'x-cache-status': 'HIT',
        'Content-Length': body.length,
      });
    }
    res.end(body);
    metrics.request('HIT');
    metrics.hit(match, tokens);
    // The line observe/request-log.ts writes for every request.
    logger.info({ method: 'POST', path, status: 200, cache: 'HIT', reason: undefined, match, ms: Math.round((performance.now() - start) * 10) / 10 }, 'request');
  }

  private body(entry: Entry, form: keyof Bytes): Buffer {
    let b = this.bytes.get(entry);
    if (!b) this.bytes.set(entry, (b = {}));
    return (b[form] ??= Buffer.from(form === 'json' ? responseJson(entry) : replaySse(entry, form === 'sseUsage')));
  }
}
