/**
 * @module observe/request-log: the one log line per request, with what the cache decided, written the same way by
 * every front. It carries only method, path (never the query string, which can hold a key), status, cache status
 * and timing: never headers (credentials) or bodies (prompts).
 */
import type { CacheStatus } from './metrics.js';
import type { Logger } from './logger.js';

/** What the line says of the cache. */
export interface LogInfo {
  cache?: CacheStatus;
  reason?: string;
  match?: 'exact' | 'semantic';
}

/** Status logged for a request whose client went away before it was answered (nginx's convention). */
export const CLIENT_CLOSED = 499;

/**
 * @param url the request's path and query as sent; the query is left out
 * @param start performance.now() when the request came in; the line times the response's head
 */
export function logRequest(logger: Logger, method: string, url: string, status: number, info: LogInfo, start: number): void {
  const q = url.indexOf('?');
  logger.info(
    {
      method,
      path: q < 0 ? url : url.slice(0, q),
      status,
      cache: info.cache,
      reason: info.reason,
      match: info.match,
      ms: Math.round((performance.now() - start) * 10) / 10,
    },
    'request',
  );
}
