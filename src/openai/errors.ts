/**
 * @module openai/errors: Reprise's error types, and the OpenAI error body they turn into. Each API's clients read
 * errors in its own shape (an ErrorDialect): OpenAI's here, Anthropic's in anthropic/errors.ts.
 */
import type { Reply } from '../http/types.js';

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Base error. Code throws these; one `onError` turns them into responses. */
export class RepriseError extends Error {
  override readonly name: string = 'RepriseError';
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400: the request is malformed or names a bad value. */
export class InvalidRequestError extends RepriseError {
  override readonly name = 'InvalidRequestError';
  constructor(message: string, param: string | null = null, code: string | null = 'invalid_request') {
    super(message, 400, 'invalid_request_error', code, param);
  }
}

/** 413: body over the configured limit. */
export class PayloadTooLargeError extends RepriseError {
  override readonly name = 'PayloadTooLargeError';
  constructor(limit: number) {
    super(`Request body is larger than the limit of ${limit} bytes.`, 413, 'invalid_request_error', 'request_too_large');
  }
}

/** 404: a route Reprise does not serve. */
export class NotFoundError extends RepriseError {
  override readonly name = 'NotFoundError';
  constructor(path: string) {
    super(`Unknown route ${path}. Reprise serves the OpenAI and Anthropic APIs under /v1/.`, 404, 'invalid_request_error', 'not_found');
  }
}

/**
 * 502/504: upstream could not be reached or did not answer in time. The client is told only that; `detail` (the
 * address, the system error) is for the log, since the upstream's host and port are the operator's business.
 */
export class UpstreamError extends RepriseError {
  override readonly name = 'UpstreamError';
  constructor(
    message: string,
    status = 502,
    code = 'upstream_unavailable',
    readonly detail?: string,
  ) {
    super(message, status, 'upstream_error', code);
  }
}

/** 503: Reprise has as many upstream calls under way, and waiting, as it is configured to allow. */
export class UpstreamBusyError extends RepriseError {
  override readonly name = 'UpstreamBusyError';
  constructor(readonly retryAfterSeconds: number) {
    super('Too many requests are waiting for the upstream; retry shortly.', 503, 'server_error', 'upstream_busy');
  }
}

/**
 * A joiner that read a shared answer so slowly that more than a bounded buffer of it waited for it: it is cut (it has
 * had bytes already, so it cannot start over), and the request it shared with goes on at its own pace.
 */
export class SlowReaderError extends RepriseError {
  override readonly name = 'SlowReaderError';
  constructor() {
    super('This answer was read too slowly to keep sharing it; ask again.', 502, 'server_error', 'reader_too_slow');
  }
}

/** The client went away before it was answered: logged as 499, and nothing is sent. */
export class ClientClosedError extends RepriseError {
  override readonly name = 'ClientClosedError';
  constructor() {
    super('Client closed the request.', 499, 'client_closed');
  }
}

/** How one API's clients read an error: its body, and the SSE event that ends a stream broken after its head. */
export interface ErrorDialect {
  body(e: RepriseError): unknown;
  /** an event the API's SDKs raise as an error, where a connection closed at that point could pass for the end */
  sseEvent(e: RepriseError): string;
}

/** OpenAI's shape, for every route but Anthropic's. */
export const OPENAI_ERRORS: ErrorDialect = {
  body: (e) => e.toBody(),
  sseEvent: (e) => `event: error\ndata: ${JSON.stringify(e.toBody())}\n\n`,
};

/** Any error as a reply in `dialect`'s shape; an unknown error is a 500 that leaks nothing of its cause. */
export function errorReply(err: unknown, dialect: ErrorDialect = OPENAI_ERRORS): Reply {
  const e = err instanceof RepriseError ? err : new RepriseError('Internal error in Reprise.', 500, 'server_error', 'internal_error');
  const headers: Reply['headers'] = [['content-type', 'application/json']];
  if (e instanceof UpstreamBusyError) headers.push(['retry-after', String(e.retryAfterSeconds)]);
  return { status: e.status, headers, body: JSON.stringify(dialect.body(e)) };
}

const encoder = new TextEncoder();

/**
 * How a response whose head has gone out ends when its upstream breaks (`reason`): an event stream ends with an SSE
 * error event in `dialect`'s shape (returned, for the front to write before it ends the response); anything else has
 * no such thing, and undefined tells the front to cut the connection, so the client sees it incomplete.
 */
export function brokenStreamTail(headers: ReadonlyArray<[string, string]>, reason: unknown, dialect: ErrorDialect = OPENAI_ERRORS): Uint8Array | undefined {
  const sse = headers.some(([n, v]) => n === 'content-type' && v.includes('text/event-stream'));
  if (!sse) return undefined;
  const err = reason instanceof RepriseError ? reason : new UpstreamError('The upstream broke off its answer.', 502, 'upstream_broken');
  // The break can land inside an event: a blank line first ends whatever was half written, so the error event is
  // read as its own event (blank lines between events are no event at all).
  return encoder.encode(`\n\n${dialect.sseEvent(err)}`);
}
