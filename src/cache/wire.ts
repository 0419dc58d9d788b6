/**
 * @module cache/wire: what the pipeline needs to know about one wire API (chat completions, completions,
 * embeddings; later the Responses API and Anthropic Messages). Each API implements this once, next to its format
 * (openai/wire.ts); the pipeline, capture and renderers only ever talk to this interface.
 */
import type { Endpoint, ParsedRequest } from '../openai/request.js';

/** Folds a streamed answer's SSE events into the answer as it would have come as JSON. */
export interface StreamAssembly {
  /** one event's `data` (and its `event` name, for APIs that type their events) */
  add(data: string, event: string): void;
  /** the whole answer if the stream completed cleanly, else undefined */
  complete(): unknown;
}

export interface WireApi {
  readonly endpoint: Endpoint;
  /** validate a JSON body and narrow it; throws InvalidRequestError naming the parameter */
  parse(json: unknown): ParsedRequest;
  /** is this JSON answer complete and successful, worth storing? (DESIGN: cache-key contract 4) */
  storable(answer: unknown): boolean;
  /** how a stored answer streams; undefined for an API that never streams (embeddings) */
  stream?: {
    assemble(): StreamAssembly;
    /** the whole SSE replay of a stored answer, the end marker included */
    replay(answer: unknown, includeUsage: boolean): string;
  };
  /** upstream tokens an answer cost: what serving it from cache saved */
  tokens(answer: unknown): number;
}
