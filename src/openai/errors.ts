/** @module openai/errors: Reprise's error types and the OpenAI error body they turn into. */
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
    super(`Unknown route ${path}. Reprise serves the OpenAI API under /v1/.`, 404, 'invalid_request_error', 'not_found');
  }
}

/** 502/504: upstream could not be reached or did not answer in time. */
export class UpstreamError extends RepriseError {
  override readonly name = 'UpstreamError';
  constructor(message: string, status = 502, code = 'upstream_unavailable') {
    super(message, status, 'upstream_error', code);
  }
}

/** The client went away before it was answered: logged as 499, and nothing is sent. */
export class ClientClosedError extends RepriseError {
  override readonly name = 'ClientClosedError';
  constructor() {
    super('Client closed the request.', 499, 'client_closed');
  }
}

/** Any error as a reply in OpenAI's error shape; an unknown error is a 500 that leaks nothing of its cause. */
export function errorReply(err: unknown): Reply {
  const e = err instanceof RepriseError ? err : new RepriseError('Internal error in Reprise.', 500, 'server_error', 'internal_error');
  return { status: e.status, headers: [['content-type', 'application/json']], body: JSON.stringify(e.toBody()) };
}
