/**
 * @module cache/capture: keep a copy of an upstream answer as its bytes pass to the client, and say at the end
 * whether it is a complete answer to store (DESIGN: cache-key contract 4). It never holds the client's bytes back:
 * it only reads them. An answer over the size limit is dropped as it grows, not buffered to the end.
 */
import { concatBytes } from '../http/bytes.js';
import { SseParser } from '../openai/sse-parse.js';
import type { StreamAssembly, WireApi } from './wire.js';

export type Captured = { ok: true; answer: unknown; bytes: number } | { ok: false; reason: string };

/** Largest answer kept for storing, JSON or stream, unless configured (--max-entry-bytes); bigger ones pass through uncached. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export class Capture {
  private readonly parser: SseParser | undefined;
  private readonly assembly: StreamAssembly | undefined;
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  /** @param sse the answer is an event stream (by its content type), else a JSON body */
  constructor(
    private readonly wire: WireApi,
    sse: boolean,
    private readonly maxBytes = MAX_ANSWER_BYTES,
  ) {
    if (sse && wire.stream) {
      this.parser = new SseParser();
      this.assembly = wire.stream.assemble();
    }
  }

  push(chunk: Uint8Array): void {
    this.size += chunk.byteLength;
    if (this.size > this.maxBytes) {
      this.parts.length = 0;
      return;
    }
    if (this.parser) for (const ev of this.parser.push(chunk)) this.assembly!.add(ev.data, ev.event);
    else this.parts.push(chunk);
  }

  /** Upstream's body ended cleanly: the answer, or why there is none to store. */
  finish(): Captured {
    if (this.size > this.maxBytes) return { ok: false, reason: 'too-large' };
    if (this.parser) {
      for (const ev of this.parser.end()) this.assembly!.add(ev.data, ev.event);
      // An event too long for the parser was dropped: what is left would be served as the whole answer.
      if (this.parser.overflowed) return { ok: false, reason: 'too-large' };
      // What the stream folds into is held to the same rule as a JSON answer (a Responses stream ends with the whole
      // response, whatever its status).
      const answer = this.assembly!.complete();
      return answer === undefined || !this.wire.storable(answer) ? { ok: false, reason: 'incomplete-stream' } : { ok: true, answer, bytes: this.size };
    }
    let answer: unknown;
    try {
      answer = JSON.parse(new TextDecoder().decode(concatBytes(this.parts, this.size)));
    } catch {
      return { ok: false, reason: 'invalid-json' };
    }
    return this.wire.storable(answer) ? { ok: true, answer, bytes: this.size } : { ok: false, reason: 'incomplete' };
  }
}
