/**
 * @module upstream/call: where a client's request goes upstream. The upstream is fixed by configuration: only the
 * path under /v1 and the query come from the client, appended to the configured base URL's path, so no header or
 * path trick can reach another host.
 */
import type { UpstreamCall } from '../cache/outcome.js';
import type { RequestHeaders } from '../http/types.js';
import { upstreamRequestHeaders } from './headers.js';

/** The configured upstream base URL, split once. */
export interface UpstreamBase {
  /** e.g. https://api.openai.com */
  origin: string;
  /** path prefix without a trailing slash, e.g. /v1 */
  path: string;
  /** the base URL's own query without "?", e.g. api-version=2024-10-21 (Azure); "" if none */
  query: string;
}

export function upstreamBase(url: string): UpstreamBase {
  const u = new URL(url);
  return { origin: u.origin, path: u.pathname.replace(/\/+$/, ''), query: u.search.slice(1) };
}

export interface CallOptions {
  method: string;
  /** the client's path and query, starting with /v1 */
  url: string;
  headers: RequestHeaders;
  body: UpstreamCall['body'];
  bodyLimit: number;
  /** ask upstream for an uncompressed answer, because Reprise reads it to store it */
  identity: boolean;
}

/** "/v1/chat/completions?x=1" with base https://h/openai/v1?api-version=2 → "/openai/v1/chat/completions?x=1&api-version=2" */
export function upstreamPath(base: UpstreamBase, url: string): string {
  const rest = url.replace(/^\/v1(?=[/?]|$)/, '');
  const q = rest.indexOf('?');
  const restPath = q < 0 ? rest : rest.slice(0, q);
  const query = [q < 0 ? '' : rest.slice(q + 1), base.query].filter(Boolean).join('&');
  return `${base.path}${restPath}${query ? `?${query}` : ''}`;
}

/** The call for a client's request: its path under the base (upstreamPath), its headers made fit to forward. */
export function upstreamCall(base: UpstreamBase, o: CallOptions): UpstreamCall {
  const path = upstreamPath(base, o.url);
  return {
    url: `${base.origin}${path}`,
    origin: base.origin,
    path,
    method: o.method,
    headers: upstreamRequestHeaders(o.headers.list(), o.identity),
    body: o.body,
    bodyLimit: o.bodyLimit,
  };
}
