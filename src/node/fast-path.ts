/**
 * @module node/fast-path: the Node request listener. The hot cases are answered on node:http directly; everything
 * else goes to the Hono app (src/app.ts) through @hono/node-server, unchanged.
 *
 * On a bare Hono app most of the CPU of a cheap request goes to the adapter: a Web Request, Headers and
 * AbortSignal per request, the body read through web streams, the answer written back from a Web Response. The
 * fast path skips that for exact hits on the cached endpoints (node/raw-exact.ts).
 * What it answers, it answers with the same status, headers, body, metrics and log line as the app. Whenever it
 * is not sure (a header the app acts on, a body it has not seen), or anything goes wrong before it has
 * answered, the app handles the request, with the body the fast path already read if it read one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Embedder } from '../embed/types.js';
import type { Endpoint } from '../openai/request.js';
import type { Logger } from '../observe/logger.js';
import type { Entry } from '../store/types.js';
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
  /** the Host the adapter assumes when a request has none (the listen address) */
  hostname: string;
  bodyLimit: number;
  cacheEnabled: boolean;
  /** the exact path needs the embedder loaded, as the app does (before that, it passes requests through) */
  embedder: () => Embedder | undefined;
  logger: Logger;
}

/** How many requests the fast path answered itself, for tests that must tell it from the app. */
export interface FastPathStats {
  hits: number;
}

const CACHED: Record<string, Endpoint> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};

export function createFastPath(deps: FastPathDeps): { listener: Listener; stats: FastPathStats } {
  const hosts = new HostCheck(deps.hostname);
  const stats: FastPathStats = { hits: 0 };
  const { exact, logger } = deps;

  /**
   * What the app does before a route runs (X-Cache-Feedback, body limit, Host check) must not apply, and there
   * must be no cache controls (x-cache-namespace is part of the raw key).
   */
  const exactCandidate = (head: RequestHead) =>
    deps.cacheEnabled &&
    !head.feedback &&
    !head.chunked &&
    head.contentLength !== undefined &&
    head.contentLength <= deps.bodyLimit &&
    !head.cacheControl &&
    !head.otherControl &&
    hosts.ok(head) &&
    deps.embedder() !== undefined;

  /** Serve the hit, or hand the request to the app with its body. Callbacks rather than async: this is the hot path. */
  function cached(req: IncomingMessage, res: ServerResponse, path: string, head: RequestHead, start: number, body: Buffer): void {
    let raw: string;
    let known: Learned | undefined;
    let lookup: Promise<Entry | undefined>;
    try {
      raw = exact.rawKey(path, head, body);
      known = exact.find(raw);
      if (!known) return miss(req, res, body, raw);
      lookup = exact.entry(known);
    } catch (err) {
      return fault(req, res, body, err);
    }
    lookup.then(
      (entry) => {
        if (!entry) return miss(req, res, body, raw);
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

  /** Not known, or no entry now: the app handles it, and tells the exact path the key it computes. */
  function miss(req: IncomingMessage, res: ServerResponse, body: Buffer, raw: string): void {
    exact.expect(req, raw);
    handOver(req, res, body);
  }

  /** A store fault (the app then does its own lookup, and counts the fault as it always does), or a bug. */
  function fault(req: IncomingMessage, res: ServerResponse, body: Buffer, err: unknown): void {
    if (!res.headersSent) return handOver(req, res, body);
    logger.error({ err: String(err) }, 'fast path failed after answering');
    res.destroy();
  }

  /** The app handles the request, reading the body from `rawBody` (@hono/node-server's hook for a read body). */
  function handOver(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
    void deps.appWithBody(req, res);
  }

  const listener: Listener = (req, res) => {
    const url = req.url ?? '';
    if (req.method === 'POST' && CACHED[url] !== undefined) {
      const start = performance.now();
      const head = readHead(req);
      if (exactCandidate(head)) {
        // A client that goes away mid-body gets no answer: there is no one to answer.
        readBody(req, head.contentLength!, (body) => body && cached(req, res, url, head, start, body));
        return;
      }
    }
    void deps.app(req, res);
  };
  return { listener, stats };
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
