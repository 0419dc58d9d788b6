/**
 * @module node/forward: a forward outcome sent over undici's dispatch and written into the ServerResponse, with no
 * Web Request or Response on either side and no promise per chunk. The Exchange (cache/exchange.ts) says what the
 * client gets and stores the answer; this only moves bytes, keeps backpressure, and passes aborts both ways.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Exchange, UpstreamCall } from '../cache/outcome.js';
import type { HeaderList } from '../http/types.js';
import { PayloadTooLargeError, UpstreamError } from '../openai/errors.js';
import type { Logger } from '../observe/logger.js';
import { CLIENT_CLOSED } from '../observe/request-log.js';
import { upstreamBodyError, upstreamError } from '../upstream/undici.js';
import { writeHead, writeReply } from './write.js';

const NULL_BODY = new Set([101, 204, 205, 304]);

/** Forward and answer. Never throws: every outcome is written to `res`, or `res` is destroyed mid-body. */
export function forwardNode(
  dispatcher: Dispatcher,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  call: UpstreamCall,
  exchange: Exchange,
  log: (status: number) => void,
): void {
  const handler = new ExchangeHandler(logger, res, exchange, call.method, log);
  if (res.destroyed || req.socket.destroyed) {
    // Gone while its request was worked on (an embedding, a queue): upstream only for the joiners of its flight.
    if (!handler.clientGone()) {
      exchange.abort(new Error('client closed the request'));
      return log(CLIENT_CLOSED);
    }
  } else {
    // The client closing before its whole answer went out aborts the upstream call, unless joiners read it.
    res.on('close', () => {
      if (!res.writableFinished) handler.clientGone();
    });
  }
  // A client body of known length is held to it by node:http; one of unknown length is counted here.
  const body: Uint8Array | Readable | null =
    call.body === 'client' ? (req.headers['content-length'] !== undefined ? req : limited(req, call.bodyLimit, handler)) : call.body;
  dispatcher.dispatch({ origin: call.origin, path: call.path, method: call.method as Dispatcher.HttpMethod, headers: call.headers, body }, handler);
}

/** A client body of unknown length (chunked), failing once it passes `limit` bytes. */
function limited(req: IncomingMessage, limit: number, handler: ExchangeHandler): Readable {
  let size = 0;
  return req.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size <= limit) return done(null, chunk);
        handler.tooLarge = new PayloadTooLargeError(limit);
        done(handler.tooLarge);
      },
    }),
  );
}

/** undici's header record as a list: lower-case names, repeats apart. */
function headerList(h: Record<string, string | string[] | undefined>): HeaderList {
  const out: HeaderList = [];
  for (const name of Object.keys(h)) {
    const v = h[name];
    if (v === undefined) continue;
    const n = name.toLowerCase();
    if (Array.isArray(v)) for (const x of v) out.push([n, x]);
    else out.push([n, v]);
  }
  return out;
}

/**
 * One forwarded request, written straight from undici's callbacks. Bytes go out as they arrive; when the head and
 * the first chunks (or the whole answer) arrive together, they go out in one write.
 */
class ExchangeHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private gone = false;
  /** the client is gone, but joiners share the answer: it is read to its end, for them */
  private sharing = false;
  /** the upstream call has been aborted */
  private stopped = false;
  private started = false;
  /** the head, or body bytes, have gone to the socket */
  private flushed = false;
  /** nothing more is written, whatever upstream does */
  private finished = false;
  /** set when the client's body passed the limit: the call failed for that */
  tooLarge: PayloadTooLargeError | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly res: ServerResponse,
    private readonly ex: Exchange,
    private readonly method: string,
    private readonly log: (status: number) => void,
  ) {}

  /** The client has gone; true when joiners still read the answer, so the call goes on for them. */
  clientGone(): boolean {
    if (this.gone) return this.sharing;
    this.gone = true;
    // Others share this answer (joiners of its single-flight): read it to its end for them, writing nothing more
    // here; the exchange stops the call if they all leave too.
    if (this.ex.leaderGone(() => this.stop())) {
      this.sharing = true;
      this.controller?.resume();
      return true;
    }
    this.stop();
    return false;
  }

  /** Abort the upstream call. */
  private stop(): void {
    this.stopped = true;
    this.controller?.abort(new Error('Client connection prematurely closed.'));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.stopped) controller.abort(new Error('Client connection prematurely closed.'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status < 200) return; // informational; the answer follows (undici's request() skips these too)
    const { res } = this;
    if (status > 599) {
      this.finished = true;
      controller.abort(new Error(`upstream status ${status}`));
      return this.answer(this.ex.error(new UpstreamError(`Upstream answered with an invalid status (${status}).`)));
    }
    this.started = true;
    const head = this.ex.head(status, headerList(headers));
    if (this.sharing) {
      // The client left before the head; its joiners still get theirs.
      this.log(CLIENT_CLOSED);
      if (NULL_BODY.has(status) || this.method === 'HEAD') {
        this.finished = true;
        void this.ex.end();
      }
      return;
    }
    try {
      writeHead(res, head.status, head.headers);
    } catch (err) {
      // A header Node will not send: nothing of upstream's answer can go out as it is.
      this.finished = true;
      controller.abort(err as Error);
      this.ex.abort(err);
      this.logger.warn({ err: (err as Error).message }, 'upstream sent a header that cannot be forwarded');
      const reply = this.ex.error(new UpstreamError('Upstream sent a response header that cannot be forwarded.'));
      writeReply(res, reply);
      return this.log(reply.status);
    }
    this.log(head.status);
    if (NULL_BODY.has(status) || this.method === 'HEAD') {
      this.finished = true;
      this.endAfter(this.ex.end());
      return;
    }
    // Wait for the end of this turn of the event loop, so that body bytes already received go out with the head;
    // with none, the head goes out alone then.
    setImmediate(() => {
      if (!this.flushed && !res.destroyed) {
        this.flushed = true;
        res.flushHeaders();
      }
    });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.finished) return;
    if (this.sharing) {
      this.ex.chunk(chunk);
      return;
    }
    if (this.res.destroyed) return;
    this.flushed = true;
    this.ex.chunk(chunk);
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.finished) return;
    this.finished = this.flushed = true;
    this.endAfter(this.ex.end());
  }

  /** End the client's response, once the answer is stored if it is being stored. */
  private endAfter(storing: Promise<void> | undefined): void {
    if (storing) void storing.then(() => this.res.end());
    else this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const { res } = this;
    if (this.finished) return;
    this.finished = true;
    if (this.gone) {
      this.ex.abort(err);
      res.destroy();
      // Before the head nothing was logged for this request, sharing or not.
      if (!this.started) this.log(CLIENT_CLOSED);
      return;
    }
    if (this.started) {
      // Broken mid-body: an event stream ends with an error event the SDKs raise; anything else is cut, so the
      // client never takes it for a complete answer.
      const tail = this.ex.abort(upstreamBodyError(err));
      this.logger.warn({ err: err.message }, 'upstream body failed mid-stream');
      if (tail && !res.destroyed) res.end(tail);
      else res.destroy();
      return;
    }
    this.answer(this.ex.error(this.tooLarge ?? upstreamError(err)));
  }

  private answer(reply: Parameters<typeof writeReply>[1]): void {
    writeReply(this.res, reply);
    this.log(reply.status);
  }
}
