/**
 * @module node/request-head: what the Node fast path needs to know about a request's headers, read from
 * `rawHeaders` in one pass, without building a Web `Headers`.
 */
import type { IncomingMessage } from 'node:http';

export interface RequestHead {
  /** every value of each header, in arrival order; absent = empty list */
  authorization: string[];
  apiKey: string[];
  namespace: string[];
  /** the first Host (Node's `req.headers.host` keeps the first too) */
  host: string | undefined;
  /** the Content-Length as a number; undefined when absent, repeated or not a plain integer */
  contentLength: number | undefined;
  /** a Content-Length header is present (usable or not) */
  hasLength: boolean;
  /** Transfer-Encoding is present (the body's size is not known up front) */
  chunked: boolean;
  /** Cache-Control is present */
  cacheControl: boolean;
  /** X-Cache-Feedback is present: the app evicts an entry before the request goes on */
  feedback: boolean;
  /** an x-cache-* header other than x-cache-namespace and x-cache-feedback (ttl, threshold, or unknown) */
  otherControl: boolean;
}

const NONE: readonly string[] = [];

/** Scan `rawHeaders` once. Names compare case-insensitively, as `Headers` does. */
export function readHead(req: IncomingMessage): RequestHead {
  const raw = req.rawHeaders;
  let authorization = NONE as string[];
  let apiKey = NONE as string[];
  let namespace = NONE as string[];
  let host: string | undefined;
  let contentLength: number | undefined;
  let lengths = 0;
  let chunked = false;
  let cacheControl = false;
  let feedback = false;
  let otherControl = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Dispatch on length first: most headers are none of these and cost one comparison.
    switch (name.length) {
      case 4:
        if (host === undefined && name.toLowerCase() === 'host') host = raw[i + 1]!;
        break;
      case 7:
        if (name.toLowerCase() === 'api-key') apiKey = [...apiKey, raw[i + 1]!];
        break;
      case 13: {
        const n = name.toLowerCase();
        if (n === 'authorization') authorization = [...authorization, raw[i + 1]!];
        else if (n === 'cache-control') cacheControl = true;
        else if (n.startsWith('x-cache-')) otherControl = true;
        break;
      }
      case 14: {
        const n = name.toLowerCase();
        if (n === 'content-length') {
          lengths++;
          const v = raw[i + 1]!;
          contentLength = /^\d{1,15}$/.test(v) ? Number(v) : undefined;
        } else if (n.startsWith('x-cache-')) otherControl = true;
        break;
      }
      case 16: {
        const n = name.toLowerCase();
        if (n === 'x-cache-feedback') feedback = true;
        else if (n.startsWith('x-cache-')) otherControl = true;
        break;
      }
      case 17: {
        const n = name.toLowerCase();
        if (n === 'x-cache-namespace') namespace = [...namespace, raw[i + 1]!];
        else if (n === 'transfer-encoding') chunked = true;
        else if (n.startsWith('x-cache-')) otherControl = true;
        break;
      }
      default:
        if (name.length > 8 && (name.charCodeAt(0) | 0x20) === 0x78 && name.toLowerCase().startsWith('x-cache-')) otherControl = true;
    }
  }
  return {
    authorization,
    apiKey,
    namespace,
    host,
    contentLength: lengths === 1 ? contentLength : undefined,
    hasLength: lengths > 0,
    chunked,
    cacheControl,
    feedback,
    otherControl,
  };
}

/**
 * Would @hono/node-server accept this Host? It builds `new URL("http://" + host + path)` and answers 400 when that
 * throws or when the parsed hostname is not the Host as sent (e.g. "127.1", which URL rewrites to "127.0.0.1").
 * The fast path must not serve what the app would refuse, so it asks the same question; the answers are memoised,
 * since a server sees few distinct Host values.
 */
export class HostCheck {
  private readonly known = new Map<string, boolean>();

  constructor(private readonly defaultHost: string) {}

  ok(head: RequestHead): boolean {
    const host = head.host || this.defaultHost;
    if (!host) return false;
    let ok = this.known.get(host);
    if (ok === undefined) {
      try {
        const url = new URL(`http://${host}/`);
        ok = url.hostname.length === host.length || url.hostname === host.replace(/:\d+$/, '');
      } catch {
        ok = false;
      }
      if (this.known.size < 256) this.known.set(host, ok);
    }
    return ok;
  }
}
