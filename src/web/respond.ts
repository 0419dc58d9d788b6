/**
 * @module web/respond: an Outcome as a Web Response, for the Hono front (app.ts) on any Web runtime. A forward is
 * sent with the injected fetch, and its body passed to the client through the Exchange as it arrives; the client
 * cancelling aborts the upstream call.
 */
import type { Exchange, Outcome, UpstreamCall } from '../cache/outcome.js';
import type { Reply } from '../http/types.js';
import { PayloadTooLargeError, RepriseError, UpstreamError } from '../openai/errors.js';
import type { Logger } from '../observe/logger.js';
import { CLIENT_CLOSED, logRequest, type LogInfo } from '../observe/request-log.js';
import type { UpstreamFetch } from '../upstream/types.js';

export interface RespondDeps {
  upstream: UpstreamFetch;
  logger: Logger;
}

/** performance.now() when the request came in, and the request itself. */
export interface Incoming {
  request: Request;
  /** the request's path and query */
  url: string;
  start: number;
  /**
   * The runtime's way to finish work after the response has ended (a Worker's ctx.waitUntil). With it, storing an
   * answer runs after the client's response ends; without it, the response ends once the answer is stored.
   */
  waitUntil?: (work: Promise<unknown>) => void;
}

const NULL_BODY = new Set([101, 204, 205, 304]);

/** A Reply as a Response. */
export function replyResponse(r: Reply): Response {
  // A Uint8Array over a plain ArrayBuffer is valid BodyInit; TypeScript's DOM types only allow ArrayBuffer-backed views.
  const body = NULL_BODY.has(r.status) ? null : (r.body as BodyInit | null);
  return new Response(body, { status: r.status, headers: r.headers });
}

export async function respond(deps: RespondDeps, outcome: Outcome, inc: Incoming): Promise<Response> {
  const log = (status: number, info: LogInfo) => logRequest(deps.logger, inc.request.method, inc.url, status, info, inc.start);
  const gone = inc.request.signal.aborted;
  switch (outcome.kind) {
    case 'hit':
    case 'reject':
    case 'reply':
      log(gone ? CLIENT_CLOSED : outcome.reply.status, outcome.log);
      return replyResponse(outcome.reply);
    case 'join': {
      if (gone) {
        outcome.detach();
        log(CLIENT_CLOSED, outcome.log);
        return new Response(null, { status: 204 });
      }
      let done = false;
      const body = new ReadableStream<Uint8Array>(
        {
          start: (ctrl) => {
            const cut = (e: unknown) => {
              done = true;
              const tail = outcome.tail(e);
              if (!tail) return ctrl.error(e);
              ctrl.enqueue(tail);
              ctrl.close();
            };
            outcome.attach({
              chunk: (b) => {
                if (!done) ctrl.enqueue(b);
              },
              // What is queued and not yet read: the flight cuts a joiner that falls too far behind (Tap).
              backlog: () => -(ctrl.desiredSize ?? 0),
              end: () => {
                if (!done) ctrl.close();
                done = true;
              },
              error: (e) => {
                if (!done) cut(e);
              },
            });
          },
          cancel: () => outcome.detach(),
        },
        new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
      );
      log(outcome.head.status, outcome.log);
      return new Response(NULL_BODY.has(outcome.head.status) ? null : body, outcome.head);
    }
    case 'forward':
      return forward(deps, outcome.call, outcome.exchange, inc, (status) => log(status, outcome.log));
  }
}

async function forward(deps: RespondDeps, call: UpstreamCall, ex: Exchange, inc: Incoming, log: (status: number) => void): Promise<Response> {
  const { request } = inc;
  // The upstream call has a signal of its own: when the client leaves, joiners of this request's flight may still
  // be reading the answer, and then the call goes on for them (Exchange.leaderGone).
  const upstreamCall = new AbortController();
  let sharing = false;
  // Known once upstream has answered; a client that leaves after that hands it to drain().
  const reading: { reader?: ReadableStreamDefaultReader<Uint8Array> } = {};
  const clientGone = () => {
    if (sharing || upstreamCall.signal.aborted) return;
    if (ex.leaderGone(() => upstreamCall.abort(new Error('nobody is left to read the answer')))) {
      sharing = true;
      if (reading.reader) void drain(ex, reading.reader);
    } else {
      upstreamCall.abort(new Error('client closed the request'));
    }
  };
  if (request.signal.aborted) {
    // Gone while its request was worked on: upstream only for joiners waiting on its flight, if any.
    clientGone();
    if (!sharing) {
      ex.abort(new Error('client closed the request'));
      log(CLIENT_CLOSED);
      return new Response(null, { status: 204 });
    }
  } else request.signal.addEventListener('abort', clientGone, { once: true });

  let tooLarge = false;
  const body = call.body === 'client' ? limited(request.body, call.bodyLimit, () => (tooLarge = true)) : call.body;
  let res: Response;
  try {
    res = await deps.upstream({ url: call.url, method: call.method, headers: call.headers, body, signal: upstreamCall.signal });
  } catch (err) {
    if (request.signal.aborted) {
      ex.abort(err);
      log(CLIENT_CLOSED);
      return new Response(null, { status: 204 });
    }
    const reply = ex.error(tooLarge ? new PayloadTooLargeError(call.bodyLimit) : upstreamError(err));
    log(reply.status);
    return replyResponse(reply);
  }
  let head: ReturnType<Exchange['head']>;
  let upstreamBody: ReadableStream<Uint8Array> | null;
  try {
    if (res.status < 200 || res.status > 599) throw new UpstreamError(`Upstream answered with an invalid status (${res.status}).`);
    upstreamBody = res.body;
    head = ex.head(res.status, [...res.headers]);
  } catch (err) {
    // A response the runtime cannot pass on as it is (a status out of range, a header it refuses). Reading its body
    // may throw too (a Response that builds itself lazily), so it is let go with care.
    await Promise.resolve()
      .then(() => res.body?.cancel())
      .catch(() => {});
    const reply = ex.error(err instanceof RepriseError ? err : new UpstreamError('Upstream sent a response that cannot be forwarded.'));
    log(reply.status);
    return replyResponse(reply);
  }
  log(sharing ? CLIENT_CLOSED : head.status);
  if (!upstreamBody || NULL_BODY.has(res.status) || call.method === 'HEAD') {
    await upstreamBody?.cancel().catch(() => {});
    await ex.end();
    return new Response(null, head);
  }
  const upstreamReader = (reading.reader = upstreamBody.getReader());
  if (sharing) {
    // The client left while upstream was answering: only the joiners read on.
    void drain(ex, upstreamReader);
    return new Response(null, { status: 204 });
  }
  const out = new ReadableStream<Uint8Array>(
    {
      async pull(ctrl) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await upstreamReader.read();
        } catch (err) {
          // Broken mid-body: an event stream ends with an error event the SDKs raise; anything else fails too,
          // never a clean end that would look complete.
          const tail = ex.abort(err);
          if (sharing) return;
          if (!tail) return ctrl.error(err);
          ctrl.enqueue(tail);
          ctrl.close();
          return;
        }
        if (sharing) {
          // The client left during this read: the chunk is the joiners'; drain() reads the rest and ends.
          if (!r.done) ex.chunk(r.value);
          return;
        }
        if (r.done) {
          const storing = ex.end();
          if (storing && inc.waitUntil) inc.waitUntil(storing);
          else await storing;
          ctrl.close();
          return;
        }
        ex.chunk(r.value);
        ctrl.enqueue(r.value);
      },
      cancel(reason) {
        clientGone();
        if (sharing) return;
        ex.abort(reason ?? new Error('client disconnected'));
        return upstreamReader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(out, head);
}

/** Read the rest of the answer for the joiners alone, once the leader's client has gone. */
async function drain(ex: Exchange, reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      ex.chunk(r.value);
    }
  } catch (err) {
    ex.abort(err);
    return;
  }
  await ex.end();
}

/** What a fetch failure becomes: the runtime's own error types are not ours to know here. */
function upstreamError(err: unknown): RepriseError {
  if (err instanceof RepriseError) return err;
  return new UpstreamError('The upstream could not be reached.', 502, 'upstream_unavailable', (err as Error)?.message ?? String(err));
}

/** The client's body, streamed, failing once it passes `limit` bytes. */
function limited(body: ReadableStream<Uint8Array> | null, limit: number, onTooLarge: () => void): ReadableStream<Uint8Array> | null {
  if (!body) return null;
  let size = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctrl) {
        size += chunk.byteLength;
        if (size > limit) {
          onTooLarge();
          ctrl.error(new PayloadTooLargeError(limit));
          return;
        }
        ctrl.enqueue(chunk);
      },
    }),
  );
}
