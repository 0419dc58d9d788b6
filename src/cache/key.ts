/**
 * @module cache/key: split a request into a scope (exact hash of everything that can change the answer)
 * and a query text (the last user turn, matched semantically inside the scope). DESIGN: cache-key contract.
 */
import type { ChatMessage, ParsedRequest } from '../openai/request.js';
import { messageText } from '../openai/request.js';
import { canonicalJson, sha256 } from './hash.js';

export interface CacheKey {
  /** hash of endpoint, model, parameters, history, non-text parts, tenant, namespace and embedder */
  scope: string;
  /** the query text as sent, which is what gets embedded */
  text: string;
  /** hash of the normalised query text: the exact-match key inside the scope */
  textKey: string;
  /** false when only exact matching is safe (no user text, token prompts, embeddings) */
  semantic: boolean;
}

export interface KeyContext {
  tenant: string;
  namespace: string;
  embedderId: string;
}

/** Fields that only change how the answer is delivered, never what it says. */
const TRANSPORT_FIELDS = new Set(['stream', 'stream_options']);

/** Whitespace and Unicode form do not change meaning; case can ("US" vs "us"), so it stays. */
export function normaliseText(text: string): string {
  return text.normalize('NFC').trim().replace(/\s+/g, ' ');
}

export function buildKey(req: ParsedRequest, ctx: KeyContext): CacheKey {
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.body)) if (!TRANSPORT_FIELDS.has(k)) params[k] = v;

  let text = '';
  let semantic = false;
  if (req.endpoint === 'chat') {
    const messages = params.messages as ChatMessage[];
    const last = messages[messages.length - 1]!;
    if (last.role === 'user') {
      text = messageText(last.content);
      semantic = normaliseText(text) !== '';
      // The last turn's non-text parts (images, audio, files) and other fields stay in the scope.
      const rest: Record<string, unknown> = { ...last };
      rest.content = Array.isArray(last.content) ? last.content.filter((p) => p.type !== 'text') : null;
      params.messages = [...messages.slice(0, -1), rest];
    }
  } else if (req.endpoint === 'completions') {
    const prompt = params.prompt;
    const single = typeof prompt === 'string' ? prompt : Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string' ? prompt[0] : undefined;
    if (single !== undefined) {
      text = single;
      semantic = normaliseText(text) !== '';
      params.prompt = typeof prompt === 'string' ? '<text>' : ['<text>'];
    }
  }
  // Without a semantic text the whole request is in the scope and the text key is constant: exact match only.
  const scope = sha256(
    canonicalJson({ v: 1, endpoint: req.endpoint, tenant: ctx.tenant, namespace: ctx.namespace, embedder: ctx.embedderId, params }),
  );
  const textKey = semantic ? sha256(normaliseText(text)) : '-';
  return { scope, text, textKey, semantic };
}

/** The key single-flight and the exact tier use. */
export function exactKeyOf(key: CacheKey): string {
  return `${key.scope}:${key.textKey}`;
}
