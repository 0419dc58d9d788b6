/**
 * @module cache/hit-reply: a hit as the request asks for it (DESIGN: cache-key contract 5): JSON for a plain request,
 * an SSE replay for `stream: true`, whichever way the entry was stored. An entry never changes once stored, so its
 * bytes in each form are worked out once per entry object and kept weakly with it (re-serialising on every hit was
 * a visible share of an exact hit's CPU). A store that decodes a new object per read (Redis) gains nothing from it.
 */
import type { ParsedRequest } from './wire.js';
import type { Reply } from '../http/types.js';
import type { Entry } from '../store/types.js';
import { hitCacheHeaders, type HitInfo } from './cache-headers.js';
import type { WireApi } from './wire.js';

/** How a request wants its answer. */
export type AnswerForm = 'json' | 'sse' | 'sse+usage';

export function answerForm(parsed: ParsedRequest, wire: WireApi): AnswerForm {
  if (!parsed.stream || !wire.stream) return 'json';
  return parsed.includeUsage ? 'sse+usage' : 'sse';
}

const encoder = new TextEncoder();
const bytesOf = new WeakMap<Entry, Partial<Record<AnswerForm, Uint8Array>>>();

function body(entry: Entry, form: AnswerForm, wire: WireApi): Uint8Array {
  let forms = bytesOf.get(entry);
  if (!forms) bytesOf.set(entry, (forms = {}));
  return (forms[form] ??= encoder.encode(
    form === 'json' ? JSON.stringify(entry.response) : wire.stream!.replay(entry.response, form === 'sse+usage'),
  ));
}

/** The whole reply for a hit. Throws only for an entry whose answer cannot be serialised (a corrupt store). */
export function hitReply(hit: HitInfo, form: AnswerForm, wire: WireApi): Reply {
  const headers = hitCacheHeaders(hit);
  if (form === 'json') headers.push(['content-type', 'application/json']);
  else headers.push(['content-type', 'text/event-stream; charset=utf-8'], ['cache-control', 'no-cache']);
  return { status: 200, headers, body: body(hit.entry, form, wire) };
}
