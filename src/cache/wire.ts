/**
 * @module cache/wire: what the pipeline needs to know about one wire API (chat completions, completions, embeddings,
 * the Responses API, Anthropic Messages). Each API implements this once, next to its format (openai/wire.ts,
 * openai/responses.ts, anthropic/messages.ts); the pipeline, capture and renderers only ever talk to this interface.
 */
import type { ErrorDialect } from '../openai/errors.js';
import type { Saved } from '../observe/prices.js';
import type { Endpoint } from '../store/types.js';

/** Which configured upstream an API's requests go to (--upstream, --anthropic-upstream). */
export type UpstreamName = 'openai' | 'anthropic';

/**
 * Finds the query text in a body (DESIGN: cache-key contract 3). `params` is a copy of the body without its transport
 * fields; the split replaces the text it takes with placeholders, leaving everything else (the non-text parts of
 * the last turn where they stand among the text parts) to the scope. undefined: no text to match on (the last turn
 * is a tool result, a token prompt…), only exact matching is safe, and `params` is left as it was.
 */
export type QuerySplit = (params: Record<string, unknown>) => string | undefined;

/** A validated request: the raw body plus the few fields Reprise acts on. */
export interface ParsedRequest {
  endpoint: Endpoint;
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  /** where the query text is in this API's body */
  split: QuerySplit;
}

/** Folds a streamed answer's SSE events into the answer as it would have come as JSON. */
export interface StreamAssembly {
  /** one event's `data` (and its `event` name, for APIs that type their events) */
  add(data: string, event: string): void;
  /** the whole answer if the stream completed cleanly, else undefined */
  complete(): unknown;
}

export interface WireApi {
  readonly endpoint: Endpoint;
  readonly upstream: UpstreamName;
  /** how Reprise's own errors look to this API's clients */
  readonly errors: ErrorDialect;
  /** request headers that change the answer (an API version, beta features): part of the scope */
  readonly scopeHeaders?: readonly string[];
  /** validate a JSON body and narrow it; throws InvalidRequestError naming the parameter */
  parse(json: unknown): ParsedRequest;
  /** why this request must never be answered from the cache nor stored (it names state upstream holds); else undefined */
  bypass?(parsed: ParsedRequest): string | undefined;
  /** is this JSON answer complete and successful, worth storing? (DESIGN: cache-key contract 4) */
  storable(answer: unknown): boolean;
  /** how a stored answer streams; undefined for an API that never streams (embeddings) */
  stream?: {
    assemble(): StreamAssembly;
    /** the whole SSE replay of a stored answer, the end marker included */
    replay(answer: unknown, includeUsage: boolean): string;
  };
  /** what an answer cost upstream, by kind: what serving it from the cache saved */
  usage(answer: unknown): Saved;
  /** what an answer says, tool calls included, as text: what the error budget compares */
  answerText(answer: unknown): string;
}
