/**
 * @module upstream/types: how Reprise makes a call of its own upstream, outside any client's request (the LLM
 * judge), and how the Web front forwards. Node plugs in undici; Workers plug in the global fetch.
 */

export interface UpstreamRequest {
  /** absolute URL */
  url: string;
  method: string;
  /** one value per name */
  headers: Record<string, string>;
  body: ReadableStream<Uint8Array> | Uint8Array | string | null;
  /** aborts the upstream call, e.g. when the client disconnects */
  signal: AbortSignal;
}

/** Sends a request upstream and resolves with its response once headers arrive. The body is not decoded. */
export type UpstreamFetch = (req: UpstreamRequest) => Promise<Response>;
