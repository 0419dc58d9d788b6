/**
 * @module cache/outcome: what the pipeline decided for a request (DESIGN: "One request's path"). The pipeline never
 * writes a response: it returns one of these, and each front renders it its own way. Fixed replies (a hit, an
 * error, an admin answer) are plain data; a forward is a call for the front to make plus an Exchange that the front
 * feeds with what upstream sends; a join is a share of another request's upstream answer.
 */
import type { ByteSink, ClientHead, HeaderList, Reply } from '../http/types.js';
import type { LogInfo } from '../observe/request-log.js';
import type { Entry } from '../store/types.js';

export type { LogInfo };

/** A request to send upstream, as plain data: the front sends it with its own client (undici, fetch). */
export interface UpstreamCall {
  /** absolute URL */
  url: string;
  /** the URL's origin, e.g. https://api.openai.com */
  origin: string;
  /** the URL's path and query, e.g. /v1/chat/completions */
  path: string;
  method: string;
  /** after hygiene, one value per name */
  headers: Record<string, string>;
  /** the bytes to send; "client": the client's own body, streamed as it arrives (at most `bodyLimit` bytes) */
  body: Uint8Array | null | 'client';
  /** with body "client": the most bytes the client may send */
  bodyLimit: number;
}

/**
 * One upstream answer on its way to the client. The front calls `head` once upstream's head arrives, `chunk` for
 * every body chunk (passed on to the client as it is), and then exactly one of `end` (clean end), `abort` (broken
 * mid-body, or the client left) or `error` (no head came: upstream unreachable, timed out, or invalid).
 */
export interface Exchange {
  /** upstream's status and headers (names lower-case); returns what the client gets */
  head(status: number, headers: HeaderList): ClientHead;
  chunk(bytes: Uint8Array): void;
  /**
   * Upstream's body ended cleanly. With a promise, the answer is being stored: the front ends the client's response
   * once it settles, so a client that has read its whole answer finds it cached. Without one, the front ends it now
   * (in the same turn as the last bytes, so they go out in one write).
   */
  end(): Promise<void> | undefined;
  /**
   * Returns what to write before ending a client response whose head has gone out (an SSE error event, for an
   * event stream); undefined: cut the connection instead, so the client sees the answer incomplete.
   */
  abort(reason: unknown): Uint8Array | undefined;
  /**
   * The leader's own client has gone. Returns true when other requests share this answer (joiners of its flight):
   * the front then keeps reading upstream and feeding the exchange, only without writing to its client, and calls
   * `stop` nowhere itself; the exchange calls `stop` (abort the upstream call) once the last joiner has left too.
   * Returns false when nobody else reads it: the front aborts the upstream call as usual.
   */
  leaderGone(stop: () => void): boolean;
  /** the reply for the client when upstream gave no head */
  error(err: unknown): Reply;
}

export type Outcome =
  /** served from the cache */
  | { kind: 'hit'; reply: Reply; entry: Entry; match: 'exact' | 'semantic'; score: number; log: LogInfo }
  /** bad input, or a route that does not exist: an error reply */
  | { kind: 'reject'; reply: Reply; log: LogInfo }
  /** health, metrics, stats, feedback, admin */
  | { kind: 'reply'; reply: Reply; log: LogInfo }
  /** go upstream; the exchange says what the client gets, and stores the answer if it should */
  | { kind: 'forward'; call: UpstreamCall; exchange: Exchange; log: LogInfo }
  /**
   * Share another request's upstream answer: write `head`, then `attach` a sink for the body (which starts with the
   * bytes that went out before). A front whose client is gone calls `detach` instead.
   */
  | {
      kind: 'join';
      head: ClientHead;
      attach(sink: ByteSink): void;
      detach(): void;
      /** what to write before ending a join whose shared answer broke (its API's SSE error event); undefined: cut it */
      tail(err: unknown): Uint8Array | undefined;
      log: LogInfo;
    };

/** The outcomes a front writes as one complete reply. */
export type FixedOutcome = Extract<Outcome, { reply: Reply }>;
