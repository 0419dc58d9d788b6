/**
 * @module cache/key: split a request into a scope (exact hash of everything that can change the answer)
 * and a query text (the last user turn, matched semantically inside the scope). DESIGN: cache-key contract.
 */
import type { ChatMessage, Endpoint } from '../openai/request.js';
import { messageText } from '../openai/request.js';
import { sha256 } from './hash.js';
import { canonicalJson } from './key-json.js';

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

/** The body to key: the endpoint, and the body as cache/key-json.ts reads it (a plain parsed body keys alike). */
export interface KeyInput {
  endpoint: Endpoint;
  body: Record<string, unknown>;
}

export function buildKey(req: KeyInput, ctx: KeyContext): CacheKey {
  const hash = ctx.hash ?? sha256;
  // A prototype-less object: every member of the body is its own here, "__proto__" too.
  const params: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(req.body)) if (!TRANSPORT_FIELDS.has(k)) params[k] = req.body[k];

  let text = '';
  let semantic = false;
  if (req.endpoint === 'chat') {
    const messages = params.messages as ChatMessage[];
    const last = messages[messages.length - 1]!;
    if (last.role === 'user') {
      text = messageText(last.content);
      semantic = true;
      // The last turn's non-text parts (images, audio, files), where the text parts stand among them, and its
      // other fields stay in the scope; only the words are matched.
      const rest: Record<string, unknown> = Object.assign(Object.create(null), last);
      rest.content = Array.isArray(last.content) ? last.content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? { ...p, text: undefined } : p)) : null;
      params.messages = [...messages.slice(0, -1), rest];
    }
  } else if (req.endpoint === 'completions') {
    const prompt = params.prompt;
    const single = typeof prompt === 'string' ? prompt : Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string' ? prompt[0] : undefined;
    if (single !== undefined) {
      text = single;
      semantic = true;
      params.prompt = typeof prompt === 'string' ? '<text>' : ['<text>'];
    }
  }
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
    canonicalJson({ v: 1, endpoint: req.endpoint, tenant: ctx.tenant, namespace: ctx.namespace, embedder: ctx.embedderId, query: ctx.query ?? '', cut: rest, params }),
  );
  const textKey = semantic ? hash(normal) : '-';
  return { scope, text, embedText, textKey, semantic };
}

/** The key single-flight and the exact tier use. */
export function exactKeyOf(key: CacheKey): string {
  return `${key.scope}:${key.textKey}`;
}
