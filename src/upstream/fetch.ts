/**
 * @module upstream/fetch: the Worker's upstream, over the runtime's fetch. fetch has no timeouts of its own, so the
 * ones undici enforces on Node are kept here: `timeoutMs` for the response head (connecting included), then
 * `idleTimeoutMs` between chunks of the body. A stalled upstream ends as it does on Node: a 504 before the head,
 * and after it a body error the front turns into an SSE error event (nothing is stored).
 */
import { UpstreamError } from '../openai/errors.js';
import type { UpstreamFetch } from './types.js';

export interface FetchUpstreamOptions {
  /** ms to wait for the response head @default 600000 */
  timeoutMs?: number;
  /** ms the body may go quiet between chunks @default 300000 */
  idleTimeoutMs?: number;
  /** the runtime's fetch @default globalThis.fetch */
  fetch?: typeof fetch;
}

export function createFetchUpstream(opts: FetchUpstreamOptions = {}): UpstreamFetch {
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const idleMs = opts.idleTimeoutMs ?? 300_000;
  const send = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  return async (req) => {
    // One controller for the call: the client leaving (req.signal), the head's deadline, the body going idle.
    const call = new AbortController();
    const stop = (reason: unknown) => call.abort(reason);
    if (req.signal.aborted) stop(req.signal.reason);
    else req.signal.addEventListener('abort', () => stop(req.signal.reason), { once: true });
    let timedOut = false;
    const headTimer = setTimeout(() => {
      timedOut = true;
      stop(new UpstreamError('Upstream did not answer in time.', 504, 'upstream_timeout'));
    }, timeoutMs);
    let res: Response;
    try {
      res = await send(req.url, { method: req.method, headers: req.headers, body: req.body as BodyInit | null, signal: call.signal });
    } catch (err) {
      if (timedOut) throw new UpstreamError('Upstream did not answer in time.', 504, 'upstream_timeout', String(err));
      throw err;
    } finally {
      clearTimeout(headTimer);
    }
    if (!res.body) return res;
    return new Response(idleGuarded(res.body, idleMs, stop), { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/** `body`, failing with a 504 upstream_idle_timeout when no chunk comes for `idleMs`; pulled one chunk at a time. */
function idleGuarded(body: ReadableStream<Uint8Array>, idleMs: number, stop: (reason: unknown) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(ctrl) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const idle = new Promise<'idle'>((resolve) => (timer = setTimeout(() => resolve('idle'), idleMs)));
        try {
          const r = await Promise.race([reader.read(), idle]);
          if (r === 'idle') {
            const err = new UpstreamError('The upstream stopped sending its answer.', 504, 'upstream_idle_timeout');
            stop(err);
            void reader.cancel(err).catch(() => {});
            ctrl.error(err);
          } else if (r.done) ctrl.close();
          else ctrl.enqueue(r.value);
        } catch (err) {
          ctrl.error(err instanceof UpstreamError ? err : new UpstreamError('The upstream broke off its answer.', 502, 'upstream_broken', String(err)));
        } finally {
          clearTimeout(timer);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
