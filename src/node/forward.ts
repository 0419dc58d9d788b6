/**
 * @module node/forward: send a request upstream over undici and pipe the answer into the ServerResponse, without
 * the Web Request/Response on either side (routes/forward.ts with upstream/undici.ts, as the app does it, costs a
 * Readable.toWeb and two Responses per request). Headers follow upstream/headers.ts exactly: what a Web Headers
 * object would make of them, in its order.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { CacheInfo } from '../cache/respond.js';
import { RepriseError } from '../openai/errors.js';
import type { Logger } from '../observe/logger.js';
import { HOP_BY_HOP, OWN } from '../upstream/headers.js';
import { NULL_BODY_STATUS, upstreamError } from '../upstream/undici.js';

export interface NodeForwardDeps {
  dispatcher: Dispatcher;
  logger: Logger;
}

export interface NodeForward {
  /** upstream origin, e.g. http://127.0.0.1:8080 */
  origin: string;
  /** upstream path and query */
  path: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer | Readable | null;
  /** X-Cache-Status / X-Cache-Reason for the client */
  info: CacheInfo;
  /** the client's path, for the request log line */
  logPath: string;
  /** performance.now() when the request came in */
  start: number;
}

/** HTTP whitespace, which a Headers object strips from both ends of a value. */
const EDGE_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const trim = (v: string) => (v.length > 0 && (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32) ? v.replace(EDGE_WS, '') : v);

/** Names listed in a Connection value, lower-cased. */
function listed(connection: string | undefined): string[] {
  return connection ? connection.split(',').map((n) => n.trim().toLowerCase()).filter(Boolean) : [];
}

/**
 * Client → upstream, from `rawHeaders`: requestHeadersForUpstream(new Headers(raw), { identityEncoding: false,
 * dropCacheControls: true }) as upstream/undici.ts turns it into a record.
 */
export function upstreamHeaders(raw: string[]): Record<string, string> {
  const all = new Map<string, string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = trim(raw[i + 1]!);
    const had = all.get(name);
    // Headers joins repeats with ", ", except Set-Cookie, which it keeps apart (and .set() keeps the last of).
    all.set(name, had === undefined || name === 'set-cookie' ? value : `${had}, ${value}`);
  }
  const drop = listed(all.get('connection'));
  const out: Record<string, string> = {};
  for (const name of [...all.keys()].sort()) {
    if (HOP_BY_HOP.has(name) || OWN.test(name) || drop.includes(name)) continue;
    out[name] = all.get(name)!;
  }
  return out;
}

/**
 * Upstream → client: responseHeadersForClient and markCache, as @hono/node-server writes them (sorted names,
 * then Set-Cookie as a list, then a text/plain Content-Type when there is none).
 */
export function clientHeaders(h: Record<string, string | string[] | undefined>, info: CacheInfo): OutgoingHttpHeaders {
  const joined = new Map<string, string | string[]>();
  for (const name of Object.keys(h)) {
    const v = h[name];
    if (v === undefined) continue;
    const n = name.toLowerCase();
    if (n === 'set-cookie') {
      const list = (Array.isArray(v) ? v : [v]).map(trim);
      const had = joined.get(n);
      joined.set(n, had ? [...(had as string[]), ...list] : list);
    } else {
      const value = Array.isArray(v) ? v.map(trim).join(', ') : trim(v);
      const had = joined.get(n);
      joined.set(n, had === undefined ? value : `${had as string}, ${value}`);
    }
  }
  const connection = joined.get('connection');
  const drop = listed(typeof connection === 'string' ? connection : undefined);
  for (const n of [...joined.keys()]) if (HOP_BY_HOP.has(n) || drop.includes(n)) joined.delete(n);
  joined.set('x-cache-status', info.status);
  if (info.reason) joined.set('x-cache-reason', info.reason);
  const out: OutgoingHttpHeaders = {};
  for (const n of [...joined.keys()].sort()) if (n !== 'set-cookie') out[n] = joined.get(n)!;
  // The adapter collects Set-Cookie apart and adds it after the rest.
  const cookies = joined.get('set-cookie');
  if (cookies) out['set-cookie'] = cookies;
  out['content-type'] ??= 'text/plain; charset=UTF-8';
  return out;
}

/** The app's onError answer (openai/errors.ts errorResponse), as the adapter writes it. */
function writeError(res: ServerResponse, err: RepriseError): void {
  const body = JSON.stringify(err.toBody());
  res.writeHead(err.status, { 'content-type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Where the upstream base URL points, split as undici's dispatch takes it. */
export interface UpstreamBase {
  origin: string;
  /** path prefix, e.g. "/v1" */
  path: string;
}

/**
 * Split the upstream base URL, if it is plain enough that `origin + path + rest` is what `new URL(base + rest)`
 * would give (as routes/forward.ts and undici's request() build it); undefined otherwise (credentials, a query or
 * a fragment in the base, anything URL would rewrite), and then the fast path leaves forwarding to the app.
 */
export function splitBase(base: string): UpstreamBase | undefined {
  try {
    const u = new URL(base);
    if (u.search || u.hash || base.includes('#') || base.includes('?') || `${u.origin}${u.pathname}` !== base) return undefined;
    return { origin: u.origin, path: u.pathname };
  } catch {
    return undefined;
  }
}

/** Forward and answer. Never throws; every outcome is written to `res` (or `res` is destroyed mid-body). */
export function forwardNode(deps: NodeForwardDeps, res: ServerResponse, f: NodeForward): void {
  const handler = new ForwardHandler(deps.logger, res, f);
  // As @hono/node-server does: the client closing before the whole answer went out aborts the upstream call.
  res.on('close', () => {
    if (!res.writableFinished) handler.clientGone();
  });
  deps.dispatcher.dispatch({ origin: f.origin, path: f.path, method: f.method as Dispatcher.HttpMethod, headers: f.headers, body: f.body }, handler);
}

/**
 * One forwarded request, written straight from undici's callbacks into the ServerResponse: no Readable for the
 * body, no AbortController, no promise. Bytes go out as they arrive; when the headers and the first chunks (or
 * the whole answer) arrive together, they go out in one write.
 */
class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private gone = false;
  private started = false;
  /** the headers, or body bytes, have gone to the socket */
  private flushed = false;
  private nullBody = false;
  /** the fast path has finished the response itself; later upstream errors change nothing */
  private finished = false;

  constructor(
    private readonly logger: Logger,
    private readonly res: ServerResponse,
    private readonly f: NodeForward,
  ) {}

  clientGone(): void {
    this.gone = true;
    this.controller?.abort(new Error('Client connection prematurely closed.'));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.gone) controller.abort(new Error('Client connection prematurely closed.'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status < 200) return; // informational; the answer follows (undici's request() skips these too)
    const { res, f } = this;
    this.started = true;
    if (status > 599) {
      // A Web Response cannot carry this status: the app fails with a 500 here, so the fast path does too.
      this.finished = true;
      controller.abort(new Error(`upstream status ${status}`));
      this.logger.error({ err: `upstream status ${status}` }, 'unhandled error');
      writeError(res, new RepriseError('Internal error in Reprise.', 500, 'server_error', 'internal_error'));
      return this.log(500);
    }
    try {
      res.writeHead(status, clientHeaders(headers, f.info));
    } catch (err) {
      // A header Node will not send (the app's Headers would have refused it too): the app's 500.
      this.finished = true;
      controller.abort(err as Error);
      this.logger.error({ err: (err as Error).message }, 'unhandled error');
      writeError(res, new RepriseError('Internal error in Reprise.', 500, 'server_error', 'internal_error'));
      return this.log(500);
    }
    this.log(status, f.info.status, f.info.reason);
    if (NULL_BODY_STATUS.has(status) || f.method === 'HEAD') {
      this.nullBody = this.finished = true;
      res.end();
      return;
    }
    // The app sends headers at once, before the first body byte. Here they wait until the end of this turn of the
    // event loop, so that body bytes already received go out with them; with none, they go out alone then.
    setImmediate(() => {
      if (!this.flushed && !res.destroyed) {
        this.flushed = true;
        res.flushHeaders();
      }
    });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.finished || this.res.destroyed) return;
    this.flushed = true;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.finished) return;
    this.finished = this.flushed = true;
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const { res } = this;
    if (this.finished) return;
    this.finished = true;
    if (this.gone) {
      // The app answers 499 to a client that is gone; only the log line is left of that.
      res.destroy();
      if (!this.started) this.log(499);
      return;
    }
    if (this.started) {
      // Cut off mid-body: the client sees the connection close, as with the app.
      this.logger.warn({ err: err.message }, 'upstream body failed mid-stream');
      res.destroy();
      return;
    }
    const e = upstreamError(err);
    writeError(res, e);
    this.log(e.status);
  }

  /** The line observe/request-log.ts writes for every request. */
  private log(status: number, cache?: string, reason?: string): void {
    const ms = Math.round((performance.now() - this.f.start) * 10) / 10;
    this.logger.info({ method: this.f.method, path: this.f.logPath, status, cache, reason, match: undefined, ms }, 'request');
  }
}
