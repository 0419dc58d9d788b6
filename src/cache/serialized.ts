/**
 * @module cache/serialized: an entry's response as the bytes a hit sends, worked out once per entry object.
 * Entries never change once stored, so the JSON body and the SSE replay of an entry are the same on every hit;
 * re-serialising them each time was a visible share of an exact hit's CPU. Keyed weakly by the entry object, so a
 * cached string goes when its entry does. (A store that decodes a new object per read, like Redis, gains nothing.)
 */
import type { Completion } from '../openai/completion.js';
import { completionToFrames } from '../openai/completion-to-stream.js';
import type { Entry } from '../store/types.js';

interface Serialised {
  json?: string;
  sse?: string;
  sseUsage?: string;
}

const cache = new WeakMap<Entry, Serialised>();

function slot(entry: Entry): Serialised {
  let s = cache.get(entry);
  if (!s) cache.set(entry, (s = {}));
  return s;
}

/** `JSON.stringify(entry.response)`. */
export function responseJson(entry: Entry): string {
  const s = slot(entry);
  return (s.json ??= JSON.stringify(entry.response));
}

/** The whole SSE replay of a completion entry, `[DONE]` included (see completionToFrames). */
export function replaySse(entry: Entry, includeUsage: boolean): string {
  const s = slot(entry);
  if (includeUsage) return (s.sseUsage ??= completionToFrames(entry.response as Completion, true).join(''));
  return (s.sse ??= completionToFrames(entry.response as Completion, false).join(''));
}
