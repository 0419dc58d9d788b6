/**
 * @module node/request-view: an IncomingMessage as the pipeline reads it (http/types.ts RequestView), straight from
 * `rawHeaders` and the socket's data events: no Web Request, Headers or stream is built.
 */
import type { IncomingMessage } from 'node:http';
import { TOO_LARGE, type HeaderList, type RequestHeaders, type RequestView } from '../http/types.js';
import { ClientClosedError } from '../openai/errors.js';

/** Headers read from `rawHeaders`, where every repeat of a name is kept (Node's `req.headers` drops some). */
export class RawHeaders implements RequestHeaders {
  constructor(private readonly raw: string[]) {}

  get(name: string): string | undefined {
    const raw = this.raw;
    const want = name.toLowerCase();
    const n = want.length;
    let out: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      // Length first: most headers are not the one asked for and cost one comparison.
      if (k.length === n && (k === want || k.toLowerCase() === want)) out = out === undefined ? raw[i + 1]! : `${out}, ${raw[i + 1]!}`;
    }
    return out;
  }

  list(): HeaderList {
    const out: HeaderList = [];
    for (let i = 0; i < this.raw.length; i += 2) out.push([this.raw[i]!.toLowerCase(), this.raw[i + 1]!]);
    return out;
  }
}

/** @param arrived performance.now() when the request came in */
export function viewOf(req: IncomingMessage, arrived?: number): RequestView {
  return {
    method: req.method ?? 'GET',
    ...(arrived !== undefined && { arrived }),
    url: req.url ?? '/',
    headers: new RawHeaders(req.rawHeaders),
    readBody: (limit) => readBody(req, limit),
    onGone: (listener) => onGone(req, listener),
  };
}

/** The socket, not the request: a request's own 'close' comes once its body has been read, client or no client. */
function onGone(req: IncomingMessage, listener: () => void): () => void {
  const socket = req.socket;
  if (socket.destroyed) {
    queueMicrotask(listener);
    return () => {};
  }
  socket.once('close', listener);
  return () => socket.off('close', listener);
}

/**
 * The whole body, at most `limit` bytes. Rejects with ClientClosedError if the client goes away first. Inline
 * listeners: naming per-request closures costs (tsx's keepNames wraps each one), and a request's listeners go
 * with it once its body has ended.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | typeof TOO_LARGE> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    let settled = false;
    req.on('data', (c: Buffer) => {
      if (settled) return;
      size += c.length;
      if (size > limit) {
        settled = true;
        // What is left is read and dropped by node:http once the 413 has gone out.
        resolve(TOO_LARGE);
        return;
      }
      if (first === undefined) first = c;
      else (chunks ??= [first]).push(c);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks ? Buffer.concat(chunks, size) : (first ?? new Uint8Array(0)));
    });
    const gone = () => {
      if (settled) return;
      settled = true;
      reject(new ClientClosedError());
    };
    req.on('close', gone);
    req.on('error', gone);
  });
}
