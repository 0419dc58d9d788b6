/** @module routes/passthrough: every other /v1/ route goes upstream unchanged, streaming both ways. */
import type { Handler } from 'hono';
import { markCache } from '../cache/respond.js';
import { responseHeadersForClient } from '../upstream/headers.js';
import type { ForwardDeps } from './forward.js';
import { forward } from './forward.js';

export function passthroughRoute(deps: ForwardDeps): Handler {
  return async function passthrough(c) {
    const req = c.req.raw;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.body !== null;
    const res = await forward(deps, req, hasBody ? req.body : null, { cached: false });
    const headers = markCache(responseHeadersForClient(res.headers), { status: 'BYPASS', reason: 'not-cacheable-route' });
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  };
}
