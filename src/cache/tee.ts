/**
 * @module cache/tee: pass upstream bytes to the client as they arrive, and keep a copy to store.
 * The client's stream ends the way upstream's did: an upstream failure errors it (never a clean close),
 * and a client cancel aborts upstream. Only a clean end yields something to store.
 */
import { isCompleteCompletion } from '../openai/completion.js';
import type { Endpoint } from '../openai/request.js';
import { SseParser } from '../openai/sse-parse.js';
import { StreamAssembler } from '../openai/stream-to-completion.js';

export type Captured = { ok: true; response: unknown } | { ok: false; reason: string };

export interface TeeHooks {
  /** every chunk, in order, as it is passed on */
  onChunk?(chunk: Uint8Array): void;
  /**
   * upstream ended cleanly; `captured` says whether there is a complete answer to store. The client's stream
   * closes after the returned promise settles, so a client that has read the whole answer finds it cached.
   */
  onEnd(captured: Captured): void | Promise<void>;
  /** upstream broke or the client went away; nothing is stored */
  onAbort(reason: unknown): void;
}

/** Largest JSON body kept for storing; bigger answers pass through uncached. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

export function teeForStore(
  body: ReadableStream<Uint8Array>,
  format: 'sse' | 'json',
  validate: (value: unknown) => boolean,
  hooks: TeeHooks,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const parser = format === 'sse' ? new SseParser() : undefined;
  const assembler = format === 'sse' ? new StreamAssembler() : undefined;
  const parts: Uint8Array[] = [];
  let size = 0;
  let settled = false;
  const settle = (fn: () => void) => {
    if (settled) return;
    settled = true;
    fn();
  };

  const finish = (): Captured => {
    if (parser && assembler) {
      for (const ev of parser.end()) assembler.add(ev.data);
      const c = assembler.complete();
      return c ? { ok: true, response: c } : { ok: false, reason: 'incomplete-stream' };
    }
    if (size > MAX_JSON_BYTES) return { ok: false, reason: 'too-large' };
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder().decode(concat(parts, size)));
    } catch {
      return { ok: false, reason: 'invalid-json' };
    }
    return validate(value) ? { ok: true, response: value } : { ok: false, reason: 'incomplete' };
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(ctrl) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (err) {
          settle(() => hooks.onAbort(err));
          ctrl.error(err);
          return;
        }
        if (r.done) {
          if (!settled) {
            settled = true;
            await Promise.resolve(hooks.onEnd(finish())).catch(() => {});
          }
          ctrl.close();
          return;
        }
        const chunk = r.value;
        if (parser && assembler) {
          for (const ev of parser.push(chunk)) assembler.add(ev.data);
        } else if (size <= MAX_JSON_BYTES) {
          parts.push(chunk);
          size += chunk.byteLength;
        }
        hooks.onChunk?.(chunk);
        ctrl.enqueue(chunk);
      },
      cancel(reason) {
        settle(() => hooks.onAbort(reason ?? new Error('client disconnected')));
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** What counts as a complete answer per endpoint (DESIGN: contract 4). */
export function isStorableAnswer(endpoint: Endpoint, value: unknown): boolean {
  if (endpoint === 'embeddings') {
    const v = value as { object?: unknown; data?: unknown } | null;
    return typeof v === 'object' && v !== null && v.object === 'list' && Array.isArray(v.data) && v.data.length > 0;
  }
  return isCompleteCompletion(value) && value.object === (endpoint === 'chat' ? 'chat.completion' : 'text_completion');
}
