/**
 * @module openai/query-split: where the query text is in each OpenAI API's body (DESIGN: cache-key contract 3): the
 * last user turn's text parts, joined. Everything else, the non-text parts of that turn in their places among the
 * text parts included, stays in the scope. A last turn that is not the user's (a tool result, an assistant prefill)
 * has no query text: exact match only.
 */
import type { QuerySplit } from '../cache/wire.js';

export interface ChatMessage {
  role: string;
  content?: string | Array<{ type: string; [k: string]: unknown }> | null;
  [k: string]: unknown;
}

type Part = { type?: unknown; text?: unknown; [k: string]: unknown };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether `p` is a text part of type `type` whose text is a string. */
const isText = (p: unknown, type: string): p is Part => isRecord(p) && p.type === type && typeof p.text === 'string';

/** The text of a message's content: a string, or its text parts (`type`) joined with line breaks. */
export function contentText(content: unknown, type: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((p) => isText(p, type))
    .map((p) => (p as Part).text as string)
    .join('\n');
}

/** The chat form of contentText. */
export const messageText = (content: ChatMessage['content']): string => contentText(content, 'text');

/** Content with every text part's text taken out: the parts left, and where the texts stood, are keyed. */
function withoutText(content: unknown[], type: string): unknown[] {
  return content.map((p) => (isText(p, type) ? { ...p, text: undefined } : p));
}

/**
 * The split for a list of turns whose last one may be a user message: `isUser` says whether it is, `type` names its
 * text parts, and a string content becomes `stringPlaceholder`.
 */
function lastTurnSplit(field: string, isUser: (turn: Record<string, unknown>) => boolean, type: string, stringPlaceholder: unknown): QuerySplit {
  return (params) => {
    const turns = params[field];
    if (!Array.isArray(turns) || turns.length === 0) return undefined;
    const last: unknown = turns[turns.length - 1];
    if (!isRecord(last) || !isUser(last)) return undefined;
    const text = contentText(last.content, type);
    const rest: Record<string, unknown> = Object.assign(Object.create(null), last);
    rest.content = Array.isArray(last.content) ? withoutText(last.content, type) : stringPlaceholder;
    params[field] = [...turns.slice(0, -1), rest];
    return text;
  };
}

export const chatSplit: QuerySplit = lastTurnSplit('messages', (m) => m.role === 'user', 'text', null);

/** A single string prompt; a batch of prompts or token ids is exact only. */
export const completionsSplit: QuerySplit = (params) => {
  const prompt = params.prompt;
  const single = typeof prompt === 'string' ? prompt : Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string' ? prompt[0] : undefined;
  if (single === undefined) return undefined;
  params.prompt = typeof prompt === 'string' ? '<text>' : ['<text>'];
  return single;
};

/** Responses API: `input` as a string, or a list of items whose last is a user message (`input_text` parts). */
const responsesItemsSplit = lastTurnSplit('input', (item) => item.role === 'user' && (item.type === undefined || item.type === 'message'), 'input_text', '<text>');

export const responsesSplit: QuerySplit = (params) => {
  if (typeof params.input !== 'string') return responsesItemsSplit(params);
  const text = params.input;
  params.input = '<text>';
  return text;
};

/** Embeddings: the whole input is the key; nothing is matched semantically. */
export const noSplit: QuerySplit = () => undefined;
