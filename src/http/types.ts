/**
 * @module http/types: a request and a reply as plain data, the same on every runtime. A front turns its transport
 * into a RequestView and writes the Reply (or stream) it gets back its own way; nothing in between knows which
 * runtime it runs on, and the Node front builds no Web Request, Headers or AbortSignal per request.
 */

/** Header name (lower-case) and value pairs, in order; a name may repeat. */
export type HeaderList = Array<[name: string, value: string]>;

/** A request's headers, read-only. Names are matched without regard to case. */
export interface RequestHeaders {
  /** every value of `name` (lower-case), joined with ", " as a Web Headers object joins them; undefined if absent */
  get(name: string): string | undefined;
  /** every header, names lower-cased, in arrival order */
  list(): HeaderList;
}

/** Returned by `readBody` when the body is over the limit; the rest of it is not read. */
export const TOO_LARGE = Symbol('too-large');

/** A request as a front hands it to the pipeline. */
export interface RequestView {
  /** upper-case, e.g. "POST" */
  readonly method: string;
  /** path and query exactly as sent, e.g. "/v1/chat/completions?x=1" */
  readonly url: string;
  readonly headers: RequestHeaders;
  /** performance.now() when the request came in, for the latency metrics; undefined where the front does not say */
  readonly arrived?: number;
  /**
   * The whole body, at most `limit` bytes (TOO_LARGE past that). Only routes that need the body read it; the others
   * forward it as it arrives (UpstreamCall.body "client").
   */
  readBody(limit: number): Promise<Uint8Array | typeof TOO_LARGE>;
  /**
   * Calls `listener` once if the client goes away (at once if it has gone); returns what stops that. For waits the
   * client must not outlast, such as a place in the upstream queue. Undefined where the front cannot tell.
   */
  onGone?(listener: () => void): () => void;
}

/** A complete answer: what a hit, an error or an admin call sends. */
export interface Reply {
  status: number;
  headers: HeaderList;
  /** null: no body (HEAD, 204) */
  body: Uint8Array | string | null;
}

/** The head of a streamed answer (a forwarded or coalesced response). */
export interface ClientHead {
  status: number;
  headers: HeaderList;
}

/** Where the bytes of a streamed answer go; a front implements it over its transport. */
export interface ByteSink {
  chunk(bytes: Uint8Array): void;
  /** bytes handed to this sink that its client has not taken yet (a write buffer); undefined: the sink cannot tell */
  backlog?(): number;
  end(): void;
  /** the stream broke: the client must see it cut, never a clean end */
  error(err: unknown): void;
}
