/** @module routes/forward: send the client's request upstream with clean headers and the client's abort signal. */
import { requestHeadersForUpstream } from '../upstream/headers.js';
import type { UpstreamFetch } from '../upstream/types.js';

export interface ForwardDeps {
  upstream: UpstreamFetch;
  /** base URL including its path, e.g. https://api.openai.com/v1 */
  upstreamUrl: string;
}

/** "/v1/chat/completions?x=1" → "<upstream>/chat/completions?x=1" */
export function upstreamUrlFor(base: string, url: URL): string {
  return `${base}${url.pathname.replace(/^\/v1(?=\/|$)/, '')}${url.search}`;
}

export function forward(
  deps: ForwardDeps,
  req: Request,
  body: ReadableStream<Uint8Array> | string | null,
  opts: { cached: boolean; signal?: AbortSignal },
): Promise<Response> {
  return deps.upstream({
    url: upstreamUrlFor(deps.upstreamUrl, new URL(req.url)),
    method: req.method,
    headers: requestHeadersForUpstream(req.headers, { identityEncoding: opts.cached, dropCacheControls: true }),
    body,
    signal: opts.signal ?? req.signal,
  });
}
