/**
 * @module observe/request-log: one log line per request with what the cache decided.
 * It logs only method, path, status, cache status and timing: never headers (credentials) or bodies (prompts).
 */
import type { MiddlewareHandler } from 'hono';
import type { Logger } from './logger.js';

export function requestLog(logger: Logger, now: () => number = () => performance.now()): MiddlewareHandler {
  return async function logRequest(c, next) {
    const start = now();
    await next();
    logger.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        cache: c.res.headers.get('x-cache-status') ?? undefined,
        reason: c.res.headers.get('x-cache-reason') ?? undefined,
        match: c.res.headers.get('x-cache-match') ?? undefined,
        // time to response headers; a stream may go on after this
        ms: Math.round((now() - start) * 10) / 10,
      },
      'request',
    );
  };
}
