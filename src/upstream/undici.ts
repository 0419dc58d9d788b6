/**
 * @module upstream/undici: UpstreamFetch over an undici Agent (keep-alive pools per origin).
 * undici.request, not fetch: it neither decodes content-encoding nor adds overhead we do not need.
 */
import { Readable } from 'node:stream';
import { Agent, errors, request, type Dispatcher } from 'undici';
import { UpstreamError } from '../openai/errors.js';
import type { UpstreamFetch, UpstreamRequest } from './types.js';

export interface UndiciOptions {
  /** keep-alive connections per origin @default 128 */
  connections?: number;
  /** ms to wait for the upstream's response head (its first byte) @default 600000 */
  timeoutMs?: number;
  /** ms to wait for a connection @default 10000 */
  connectTimeoutMs?: number;
  /** ms the upstream may go quiet between body chunks @default 300000 */
  idleTimeoutMs?: number;
}

/** Statuses whose responses have no body (a Web Response refuses one). */
export const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

/** What a failed upstream call (not an abort) becomes: 504 when no headers came in time, else 502. */
export function upstreamError(err: unknown): UpstreamError {
  const detail = describe(err);
  if (err instanceof errors.ConnectTimeoutError) return new UpstreamError('The upstream could not be reached in time.', 504, 'upstream_connect_timeout', detail);
  if (err instanceof errors.HeadersTimeoutError) return new UpstreamError('Upstream did not answer in time.', 504, 'upstream_timeout', detail);
  if (err instanceof errors.BodyTimeoutError) return new UpstreamError('The upstream stopped sending its answer.', 504, 'upstream_idle_timeout', detail);
  return new UpstreamError('The upstream could not be reached.', 502, 'upstream_unavailable', detail);
}

/** What a failure after the head becomes: the answer broke off, or stopped (the idle timeout between chunks). */
export function upstreamBodyError(err: unknown): UpstreamError {
  const detail = describe(err);
  if (err instanceof errors.BodyTimeoutError) return new UpstreamError('The upstream stopped sending its answer.', 504, 'upstream_idle_timeout', detail);
  return new UpstreamError('The upstream broke off its answer.', 502, 'upstream_broken', detail);
}

/** An error and its causes, for the log. */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: string; code?: string; cause?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    parts.push([e.code, e.message].filter(Boolean).join(' '));
  }
  return parts.join(' <- ');
}

/**
 * The body as a Web stream whose errors are ours (upstreamBodyError), so a front that only knows Web streams still
 * tells an idle upstream (504 upstream_idle_timeout) from a broken one. Pulled one chunk at a time, as it is read.
 */
function webBody(body: Readable): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(ctrl) {
        let r: IteratorResult<Uint8Array>;
        try {
          r = await chunks.next();
        } catch (err) {
          ctrl.error(upstreamBodyError(err));
          return;
        }
        if (r.done) ctrl.close();
        else ctrl.enqueue(r.value);
      },
      // Ends the iteration, which destroys the body and so frees its connection.
      cancel: () => void chunks.return?.().catch(() => {}),
    },
    { highWaterMark: 0 },
  );
}

export function createUndiciUpstream(opts: UndiciOptions = {}): { fetch: UpstreamFetch; dispatcher: Dispatcher; close: () => Promise<void> } {
  const timeout = opts.timeoutMs ?? 600_000;
  const agent = new Agent({
    connections: opts.connections ?? 128,
    keepAliveTimeout: 30_000,
    headersTimeout: timeout,
    bodyTimeout: opts.idleTimeoutMs ?? 300_000,
    connect: { timeout: opts.connectTimeoutMs ?? 10_000 },
    pipelining: 1,
  });

  const fetch: UpstreamFetch = async (req: UpstreamRequest) => {
    const body =
      req.body instanceof ReadableStream ? Readable.fromWeb(req.body as import('node:stream/web').ReadableStream) : req.body;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(req.url, {
        method: req.method as 'POST',
        headers: req.headers,
        body: body ?? undefined,
        signal: req.signal,
        dispatcher: agent,
      });
    } catch (err) {
      if (req.signal.aborted) throw err;
      throw upstreamError(err);
    }
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (Array.isArray(v)) for (const x of v) out.append(k, x);
      else if (v !== undefined) out.set(k, v);
    }
    if (NULL_BODY_STATUS.has(res.statusCode) || req.method === 'HEAD') {
      res.body.resume();
      return new Response(null, { status: res.statusCode, headers: out });
    }
    return new Response(webBody(res.body), { status: res.statusCode, headers: out });
  };

  return { fetch, dispatcher: agent, close: () => agent.close() };
}
