/**
 * @module anthropic/errors: Reprise's errors in Anthropic's shape, `{"type":"error","error":{"type","message"}}`, for
 * everything under /v1/messages: the Anthropic SDKs read the error's type from there, and raise an `error` event.
 */
import type { ErrorDialect, RepriseError } from '../openai/errors.js';

/** Anthropic's error types, by HTTP status (https://docs.anthropic.com/en/api/errors). */
function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    case 504:
      return 'timeout_error';
    default:
      return status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

const body = (e: RepriseError) => ({ type: 'error', error: { type: errorType(e.status), message: e.message } });

export const ANTHROPIC_ERRORS: ErrorDialect = {
  body,
  sseEvent: (e) => `event: error\ndata: ${JSON.stringify(body(e))}\n\n`,
};
