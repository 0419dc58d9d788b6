/** @module cache/respond: serve an entry in the form the request asks for, and the X-Cache-* headers. */
import type { ParsedRequest } from '../openai/request.js';
import { sseStream } from '../openai/sse-serialize.js';
import type { CacheStatus } from '../observe/metrics.js';
import type { Entry } from '../store/types.js';
import { replaySse, responseJson } from './serialized.js';

export interface CacheInfo {
  status: CacheStatus;
  /** why the cache was not used: no-store, no-cache, disabled, embed, ... */
  reason?: string;
}

/** Set X-Cache-Status (and X-Cache-Reason when there is one). */
export function markCache(headers: Headers, info: CacheInfo): Headers {
  headers.set('x-cache-status', info.status);
  if (info.reason) headers.set('x-cache-reason', info.reason);
  return headers;
}

/** A hit: JSON for a plain request, an SSE replay for `stream: true`, whichever way the entry was stored. */
export function hitResponse(entry: Entry, req: ParsedRequest, match: 'exact' | 'semantic', score: number, now: number): Response {
  const headers = new Headers({
    'x-cache-status': 'HIT',
    'x-cache-match': match,
    'x-cache-similarity': score.toFixed(4),
    'x-cache-id': entry.id,
    age: String(Math.max(0, Math.floor((now - entry.createdAt) / 1000))),
  });
  if (req.stream && req.endpoint !== 'embeddings') {
    headers.set('content-type', 'text/event-stream; charset=utf-8');
    headers.set('cache-control', 'no-cache');
    return new Response(sseStream([replaySse(entry, req.includeUsage)]), { headers });
  }
  headers.set('content-type', 'application/json');
  return new Response(responseJson(entry), { headers });
}
