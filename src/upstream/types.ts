/** @module upstream/types: how the app reaches upstream. Node plugs in undici; Workers plug in global fetch. */

export interface UpstreamRequest {
  /** absolute URL */
  url: string;
  method: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | Uint8Array | string | null;
  /** aborts the upstream call, e.g. when the client disconnects */
  signal: AbortSignal;
}

/** Sends a request upstream and resolves with its response once headers arrive. The body is not decoded. */
export type UpstreamFetch = (req: UpstreamRequest) => Promise<Response>;
