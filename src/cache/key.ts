/**
 * @module cache/key: split a request into a scope (exact hash of everything that can change the answer)
 * and a query text (the last user turn, matched semantically inside the scope). DESIGN: cache-key contract.
 */
import { sha256 } from './hash.js';
import { canonicalJson } from './key-json.js';
import type { Endpoint } from '../store/types.js';
import type { QuerySplit } from './wire.js';

export interface CacheKey {
  /** hash of endpoint, model, parameters, history, non-text parts, tenant, namespace and embedder */
  scope: string;
  /** the query text as sent */
  text: string;
  /** what gets embedded: the text, cut to the embedder's maximum input (the rest is in the scope) */
  embedText: string;
  /** hash of the normalised query text: the exact-match key inside the scope */
  textKey: string;
  /** false when only exact matching is safe (no user text, token prompts, embeddings) */
  semantic: boolean;
}

export interface KeyContext {
  tenant: string;
  namespace: string;
  embedderId: string;
  /** the request's query string without "?": it goes upstream, so it can change the answer @default "" */
  query?: string;
  /** how much of a text the embedder reads (Embedder.inputLength) @default all of it */
  inputLength?: (text: string) => number;
  /** hex SHA-256 of a string (Node passes node:crypto's: a long prompt is hashed in milliseconds) @default pure JS */
  hash?: (text: string) => string;
  /** the request's headers that change the answer (WireApi.scopeHeaders), by name; absent ones left out */
  headers?: Readonly<Record<string, string>>;
  /** the embedder embeds nothing (Embedder.exactOnly): the whole request is keyed exactly */
  exactOnly?: boolean;
}

/** Where to cut `text` to at most `n` code units, never inside a surrogate pair. */
function cutAt(text: string, n: number): number {
  if (n >= text.length) return text.length;
  const c = text.charCodeAt(n - 1);
  return c >= 0xd800 && c <= 0xdbff ? n - 1 : n;
}

/** Where the embedder's cut falls in a normalised text: the embedded part is everything before it. */
function cutOf(normal: string, inputLength: (text: string) => number): number {
  return cutAt(normal, Math.max(1, inputLength(normal)));
}

/**
 * What of `text` the embedder reads, as the key cuts it: the normalised text up to the embedder's cut, or the text
 * itself when it is not cut. Whatever follows the cut is hashed into the scope, so texts in one scope differ only
 * in this part: what the guards and the judge compare of a long text.
 */
export function embeddedPart(text: string, inputLength: (text: string) => number): string {
  const normal = normaliseText(text);
  const cut = cutOf(normal, inputLength);
  return cut < normal.length ? normal.slice(0, cut) : text;
}

/** Fields that only change how the answer is delivered, never what it says. */
const TRANSPORT_FIELDS = new Set(['stream', 'stream_options']);

/**
 * What cannot change a text's meaning, for the exact key: its Unicode form, how its lines end, blank lines before
 * it and whitespace after it. Everything else stays: line breaks and indentation (code and YAML depend on them),
 * spaces inside a line, and case ("US" vs "us").
 */
export function normaliseText(text: string): string {
  return text
    .normalize('NFC')
    .replace(/\p{Cs}/gu, '\ufffd')
    .replace(/\r\n?/g, '\n')
    .replace(/^(?:[^\S\n]*\n)+/, '')
    .trimEnd();
}

/** The body to key: the endpoint, the body as cache/key-json.ts reads it (a plain parsed body keys alike), and where its query text is. */
export interface KeyInput {
  endpoint: Endpoint;
  body: Record<string, unknown>;
  split: QuerySplit;
}

export function buildKey(req: KeyInput, ctx: KeyContext): CacheKey {
  const hash = ctx.hash ?? sha256;
  // A prototype-less object: every member of the body is its own here, "__proto__" too.
  const params: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(req.body)) if (!TRANSPORT_FIELDS.has(k)) params[k] = req.body[k];

  // Exact-only: the text is not split out, so it stays in the scope with everything else.
  const found = ctx.exactOnly ? undefined : req.split(params);
  const text = found ?? '';
  let semantic = found !== undefined;
  // A text longer than the embedder reads is cut for embedding; what was cut goes into the scope, so two prompts that
  // differ only after the cut never match each other semantically (they may still match exactly). The cut is made
  // in the text as the exact key normalises it, so texts that key alike also cut alike.
  // Normalised once: on a long prompt each pass costs tens of milliseconds on the server's thread.
  const normal = semantic ? normaliseText(text) : '';
  if (normal === '') semantic = false;
  const cut = semantic && ctx.inputLength ? cutOf(normal, ctx.inputLength) : normal.length;
  const embedText = cut < normal.length ? normal.slice(0, cut) : text;
  const rest = cut < normal.length ? hash(normal.slice(cut)) : undefined;
  // Without a semantic text the whole request is in the scope and the text key is constant: exact match only.
  const scope = hash(
    canonicalJson({ v: 1, endpoint: req.endpoint, tenant: ctx.tenant, namespace: ctx.namespace, embedder: ctx.embedderId, query: ctx.query ?? '', headers: ctx.headers, cut: rest, params }),
  );
  const textKey = semantic ? hash(normal) : '-';
  return { scope, text, embedText, textKey, semantic };
}

/** The key single-flight and the exact tier use. */
export function exactKeyOf(key: CacheKey): string {
  return `${key.scope}:${key.textKey}`;
}
