/** @module web/request-view: a Web Request as the pipeline reads it (http/types.ts RequestView). */
import { concatBytes } from '../http/bytes.js';
import { TOO_LARGE, type HeaderList, type RequestHeaders, type RequestView } from '../http/types.js';

export function headersOf(h: Headers): RequestHeaders {
  return {
    get: (name) => h.get(name) ?? undefined,
    list: () => {
      const out: HeaderList = [];
      h.forEach((value, name) => out.push([name, value]));
      return out;
    },
  };
}

/** The path and query of an absolute URL string, as sent. */
export function pathAndQuery(url: string): string {
  const scheme = url.indexOf('://');
  const slash = url.indexOf('/', scheme < 0 ? 0 : scheme + 3);
  return slash < 0 ? '/' : url.slice(slash);
}

/** @param arrived performance.now() when the request came in */
export function viewOf(req: Request, arrived?: number): RequestView {
  return {
    method: req.method,
    ...(arrived !== undefined && { arrived }),
    url: pathAndQuery(req.url),
    headers: headersOf(req.headers),
    readBody: (limit) => readLimited(req, limit),
    onGone: (listener) => {
      const signal = req.signal;
      if (signal.aborted) {
        queueMicrotask(listener);
        return () => {};
      }
      signal.addEventListener('abort', listener, { once: true });
      return () => signal.removeEventListener('abort', listener);
    },
  };
}

/** The whole body, reading no further than `limit` bytes. */
async function readLimited(req: Request, limit: number): Promise<Uint8Array | typeof TOO_LARGE> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > limit) return TOO_LARGE;
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return TOO_LARGE;
    }
    parts.push(value);
  }
  return concatBytes(parts, size);
}
