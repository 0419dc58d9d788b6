/**
 * @module app: createApp(deps), the front for Web runtimes (Workers, and tests on Node). Web-standard APIs only: it
 * turns a Request into a RequestView, asks the runtime-neutral handler (handle.ts) what to do, and renders the
 * outcome as a Response (web/respond.ts). Everything runtime-specific is injected by the entry.
 */
import { Hono, type Context } from 'hono';
import { createHandler, type AppDeps, type Handler } from './handle.js';
import { errorReply } from './openai/errors.js';
import { replyResponse, respond } from './web/respond.js';
import { pathAndQuery, viewOf } from './web/request-view.js';

export type { AppDeps };

/** The runtime's ctx.waitUntil, where it has one (a Worker); Hono throws when asked on a runtime without one. */
function waitUntilOf(c: Context): { waitUntil?: (work: Promise<unknown>) => void } {
  let ctx: { waitUntil(p: Promise<unknown>): void };
  try {
    ctx = c.executionCtx;
  } catch {
    return {};
  }
  return { waitUntil: (work) => ctx.waitUntil(work) };
}

/** @param handler made from the same deps, when the caller needs it too (its metrics) */
export function createApp(deps: AppDeps, handler: Handler = createHandler(deps)): Hono {
  const app = new Hono();
  app.all('*', async function reprise(c) {
    const start = performance.now();
    const request = c.req.raw;
    // Some adapters (@hono/node-server) make a request's AbortSignal only when it is first read: read it now, so
    // that a client leaving while its request waits (for a slot, an embedding) is known to have left.
    void request.signal;
    const outcome = await handler.handle(viewOf(request, start));
    return respond(deps, outcome, { request, url: pathAndQuery(request.url), start, ...waitUntilOf(c) });
  });
  app.onError((err) => {
    // Only a bug gets here: the handler turns every error of a request into its reply.
    deps.logger.error({ err: err.message, stack: err.stack }, 'unhandled error');
    return replyResponse(errorReply(err));
  });
  return app;
}
