/**
 * @module node/fast-path: the Node request listener. The hot cases are answered on node:http directly; everything
 * else goes to the Hono app (src/app.ts) through @hono/node-server, unchanged.
 *
 * On a bare Hono app most of the CPU of a cheap request goes to the adapter: a Web Request, Headers and
 * AbortSignal per request, the body read through web streams, the answer written back from a Web Response. The
 * fast path skips that for three cases:
 * - hits on the cached endpoints: exact hits from the raw bytes (node/raw-exact.ts), and semantic hits by the
 *   app's own lookup (cache/find.ts); a request that does not hit goes to the app with what was found;
 * - the cached endpoints with caching off (`--cache off`), or with controls that neither read nor write the cache
 *   (`Cache-Control: no-store`): validated as the app validates them, then forwarded;
 * - every other /v1/ route, which the app forwards as is.
 * What it answers, it answers with the same status, headers, body, metrics and log line as the app. Whenever it
 * is not sure (a header the app acts on, an odd URL, an invalid body), or anything goes wrong before it has
 * answered, the app handles the request, with the body the fast path already read if it read one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Embedder } from '../embed/types.js';
import type { Found } from '../cache/find.js';
import { readPolicy, type CachePolicy } from '../cache/policy.js';
import { parseJson, parseRequest, type Endpoint, type ParsedRequest } from '../openai/request.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';
import type { Entry } from '../store/types.js';
import { forwardNode, splitBase, upstreamHeaders, type NodeForwardDeps } from './forward.js';
import type { Learned, RawExact } from './raw-exact.js';
import { HostCheck, readHead, type RequestHead } from './request-head.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface FastPathDeps {
  /** the app, through @hono/node-server's getRequestListener */
  app: Listener;
  /**
   * The app again, for a request whose body the fast path has read and left in `rawBody` (which the adapter
   * reads instead of the socket). Made with `autoCleanupIncoming: false`: the body has been read already.
   */
  appWithBody: Listener;
  exact: RawExact;
  forward: NodeForwardDeps;
  /** base URL including its path, e.g. https://api.openai.com/v1 */
  upstreamUrl: string;
  /** the Host the adapter assumes when a request has none (the listen address) */
  hostname: string;
  bodyLimit: number;
  cacheEnabled: boolean;
  /** the default TTL, which decides whether a request's controls let it write the cache */
  ttl: number;
  /** the exact path needs the embedder loaded, as the app does (before that, it passes requests through) */
  embedder: () => Embedder | undefined;
  /**
   * The app's own key-and-lookup (cache/find.ts, with the app's store, verifier, budget and judge). With it the
   * fast path serves semantic hits too; without it, only exact hits it has learned.
   */
  find?: (parsed: ParsedRequest, headers: Headers, policy: CachePolicy, embedder: Embedder) => Promise<Found>;
  metrics: Metrics;
  logger: Logger;
}

/** How many requests the fast path answered itself, for tests that must tell it from the app. */
export interface FastPathStats {
  /** exact and semantic */
  hits: number;
  semanticHits: number;
  /** cached endpoints forwarded without the cache (caching off, or `no-store`) */
  bypassed: number;
  /** other /v1/ routes */
  passed: number;
}

const CACHED: Record<string, Endpoint> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};

/**
 * A /v1/ URL that `new URL()` leaves as it is (so the app would route and forward exactly this path and query):
 * no percent-escapes or dot segments in the path, no characters URL would escape, no empty query.
 */
const PLAIN_URL = /^\/v1\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]+(\?[A-Za-z0-9\-._~!$&()*+,;=:@/?%]+)?$/;
const DOT_SEGMENT = /\/\.\.?(\/|\?|$)/;
/**
 * Methods forwarded here. HEAD (which Hono routes as GET), TRACE (which the adapter sends without a body),
 * OPTIONS and anything rarer stay with the app.
 */
const FORWARDED_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

export function createFastPath(deps: FastPathDeps): { listener: Listener; stats: FastPathStats; prefound: (env: unknown) => Found | undefined } {
  const hosts = new HostCheck(deps.hostname);
  const stats: FastPathStats = { hits: 0, semanticHits: 0, bypassed: 0, passed: 0 };
  /** what `miss` found for a request it handed to the app (CachedRouteDeps.prefound) */
  const prefound = new WeakMap<IncomingMessage, Found>();
  const { exact, metrics, logger } = deps;
  /** undefined: the upstream URL is too unusual to rebuild here, so the app forwards everything */
  const base = splitBase(deps.upstreamUrl);

  /** What the app does before a route runs (X-Cache-Feedback, body limit, Host check) must not apply. */
  const plain = (head: RequestHead) => !head.feedback && !head.chunked && hosts.ok(head);
  const sized = (head: RequestHead) => head.contentLength !== undefined && head.contentLength <= deps.bodyLimit;
  /** An exact hit also needs no cache controls (x-cache-namespace is part of the raw key). */
  const exactCandidate = (head: RequestHead) =>
    plain(head) && sized(head) && !head.cacheControl && !head.otherControl && deps.embedder() !== undefined;

  /** Serve an exact hit, or look further (miss). Callbacks rather than async: this is the hot path. */
  function cached(req: IncomingMessage, res: ServerResponse, path: string, head: RequestHead, start: number, body: Buffer): void {
    let raw: string;
    let known: Learned | undefined;
    let lookup: Promise<Entry | undefined>;
    try {
      raw = exact.rawKey(path, head, body);
      known = exact.find(raw);
      if (!known) return miss(req, res, path, start, body, raw);
      lookup = exact.entry(known);
    } catch (err) {
      return fault(req, res, body, err);
    }
    lookup.then(
      (entry) => {
        if (!entry) return miss(req, res, path, start, body, raw);
        try {
          exact.writeHit(res, path, known!, entry, start);
          stats.hits++;
        } catch (err) {
          fault(req, res, body, err);
        }
      },
      (err: unknown) => fault(req, res, body, err),
    );
  }

  /**
   * Not known, or no entry now. With `find`, key and look the request up here as the app would (exact, then
   * semantic) and serve a hit; anything else goes to the app with what was found, so nothing is looked up twice.
   * Without it, the app handles the request and tells the exact path the key it computes.
   */
  function miss(req: IncomingMessage, res: ServerResponse, path: string, start: number, body: Buffer, raw: string): void {
    const { find } = deps;
    const embedder = deps.embedder();
    const parsed = find && embedder && parsedBody(path, body);
    const headers = parsed && headersOf(req.rawHeaders);
    const policy = headers && policyOf(headers);
    if (!find || !embedder || !parsed || !headers || !policy) {
      // No fast lookup, or a body or header the app answers with an error of its own.
      exact.expect(req, raw);
      return handOver(req, res, body);
    }
    find(parsed, headers, policy, embedder).then(
      (result) => {
        const known = exact.learn(raw, result.key, parsed);
        const found = result.found;
        if (found?.kind !== 'hit') {
          prefound.set(req, result);
          return handOver(req, res, body);
        }
        try {
          exact.writeHit(res, path, known, found.entry, start, found.match, found.score);
          stats.hits++;
          if (found.match === 'semantic') stats.semanticHits++;
        } catch (err) {
          fault(req, res, body, err);
        }
      },
      (err: unknown) => fault(req, res, body, err),
    );
  }

  /** A store fault (the app then does its own lookup, and counts the fault as it always does), or a bug. */
  function fault(req: IncomingMessage, res: ServerResponse, body: Buffer, err: unknown): void {
    if (!res.headersSent) return handOver(req, res, body);
    logger.error({ err: String(err) }, 'fast path failed after answering');
    res.destroy();
  }

  /** The app handles the request, reading the body from `rawBody` (@hono/node-server's hook for a read body). */
  function handOver(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    if (res.destroyed || req.socket.destroyed) {
      // The client went away while the fast path worked on its request (an embedding, a judge call). The adapter
      // aborts a request when its socket closes, but that has happened already: handed over now, it would go
      // upstream with no one to abort it, and as the leader of its single-flight it would hold up every identical
      // request behind an answer that can never be written. Nobody is left to answer; the app logs such a one 499.
      logger.info({ method: req.method, path: req.url, status: 499, cache: undefined, reason: undefined, match: undefined }, 'request');
      return;
    }
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
    void deps.appWithBody(req, res);
  }

  /**
   * The body as the app would parse it, when its bytes are exactly the text the app reads. The app reads the body
   * with a Web decoder, which drops a BOM and replaces invalid bytes: such a body, or an invalid one, is undefined
   * and goes to the app, which answers or forwards it its own way.
   */
  function parsedBody(path: string, body: Buffer): ParsedRequest | undefined {
    try {
      const text = body.toString('utf8');
      if (text.includes('\uFFFD') || text.charCodeAt(0) === 0xfeff) return undefined;
      return parseRequest(CACHED[path]!, parseJson(text));
    } catch {
      return undefined;
    }
  }

  /** The request's cache controls; undefined for one the app rejects (it answers 400). */
  function policyOf(headers: Headers): CachePolicy | undefined {
    try {
      return readPolicy(headers, deps.ttl);
    } catch {
      return undefined;
    }
  }

  /** The app validates the body before it forwards one uncached: bad input is a 400 whether or not the cache is used. */
  const valid = (path: string, body: Buffer) => parsedBody(path, body) !== undefined;

  /** Forward a cached endpoint's request without the cache, as the app's pass() does. */
  function forwardUncached(req: IncomingMessage, res: ServerResponse, path: string, start: number, body: Buffer, reason: string): void {
    metrics.request('BYPASS');
    metrics.upstream();
    stats.bypassed++;
    const up = base!;
    const info = { status: 'BYPASS', reason } as const;
    forwardNode(deps.forward, res, { origin: up.origin, path: up.path + path.slice(3), method: 'POST', headers: upstreamHeaders(req.rawHeaders), body, info, logPath: path, start });
  }

  /** Caching off (`--cache off`). */
  function disabled(req: IncomingMessage, res: ServerResponse, path: string, start: number, body: Buffer): void {
    if (!valid(path, body)) return handOver(req, res, body);
    forwardUncached(req, res, path, start, body, 'disabled');
  }

  /**
   * Cache controls that neither read nor write the cache (`no-store`; `no-cache` or `max-age=0` with
   * `x-cache-ttl: 0`) make the app forward the request as is. readPolicy decides, on the same Headers the app
   * would build; a control it rejects, or one that uses the cache, goes to the app.
   */
  function uncached(req: IncomingMessage, res: ServerResponse, path: string, start: number, body: Buffer): void {
    const policy = valid(path, body) ? policyOf(headersOf(req.rawHeaders)) : undefined;
    if (!policy || policy.read || policy.write || !policy.reason) return handOver(req, res, body);
    forwardUncached(req, res, path, start, body, policy.reason);
  }

  /** Any other /v1/ route: forwarded as is, the body streamed. */
  function passthrough(req: IncomingMessage, res: ServerResponse, url: string, path: string, method: string, start: number): void {
    stats.passed++;
    const info = { status: 'BYPASS', reason: 'not-cacheable-route' } as const;
    const body = method === 'GET' ? null : req;
    const up = base!;
    forwardNode(deps.forward, res, { origin: up.origin, path: up.path + url.slice(3), method, headers: upstreamHeaders(req.rawHeaders), body, info, logPath: path, start });
  }

  const listener: Listener = (req, res) => {
    const url = req.url ?? '';
    const method = req.method ?? 'GET';
    if (method === 'POST' && CACHED[url] !== undefined) {
      const start = performance.now();
      const head = readHead(req);
      // A client that goes away mid-body gets no answer: there is no one to answer.
      if (!deps.cacheEnabled) {
        if (base && plain(head) && sized(head)) return readBody(req, head.contentLength!, (body) => body && disabled(req, res, url, start, body));
      } else if (exactCandidate(head)) {
        return readBody(req, head.contentLength!, (body) => body && cached(req, res, url, head, start, body));
      } else if (base && head.cacheControl && plain(head) && sized(head) && deps.embedder() !== undefined) {
        return readBody(req, head.contentLength!, (body) => body && uncached(req, res, url, start, body));
      }
    } else if (base && FORWARDED_METHODS.has(method) && PLAIN_URL.test(url)) {
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      // POSTs to these paths have routes of their own, whatever the query string.
      if (!DOT_SEGMENT.test(path) && !(method === 'POST' && (CACHED[path] !== undefined || path === '/v1/cache/feedback'))) {
        const start = performance.now();
        const head = readHead(req);
        if (plain(head) && (head.hasLength ? sized(head) : true)) return passthrough(req, res, url, path, method, start);
      }
    }
    void deps.app(req, res);
  };
  /** CachedRouteDeps.prefound: on Node the app's env is @hono/node-server's `{ incoming, outgoing }`. */
  const takePrefound = (env: unknown): Found | undefined => {
    const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const found = incoming && prefound.get(incoming);
    if (found) prefound.delete(incoming!);
    return found;
  };
  return { listener, stats, prefound: takePrefound };
}

/**
 * Call `done` once with the whole body (Content-Length bytes), or undefined if the request ends early or fails.
 * Inline listeners, left attached: naming per-request closures costs (tsx's keepNames wraps each one), and the
 * request is done with once its body has ended.
 */
function readBody(req: IncomingMessage, length: number, done: (body: Buffer | undefined) => void): void {
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let settled = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (first === undefined) first = c;
    else (chunks ??= [first]).push(c);
  });
  req.on('end', () => {
    if (settled) return;
    settled = true;
    done(size !== length ? undefined : chunks ? Buffer.concat(chunks, size) : (first ?? Buffer.alloc(0)));
  });
  req.on('close', () => {
    if (settled) return;
    settled = true;
    done(undefined);
  });
  req.on('error', () => {
    if (settled) return;
    settled = true;
    done(undefined);
  });
}

/** The Headers @hono/node-server builds for a request (pseudo-headers aside, which HTTP/1 has none of). */
function headersOf(raw: string[]): Headers {
  const h = new Headers();
  for (let i = 0; i < raw.length; i += 2) h.append(raw[i]!, raw[i + 1]!);
  return h;
}
