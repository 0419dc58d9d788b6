/**
 * @module openai/query-split: where the query text is in each OpenAI API's body (DESIGN: cache-key contract 3): the
 * last user turn's text parts (cache/turn-split.ts). A last turn that is not the user's (a tool result, an assistant
 * prefill) has no query text: exact match only.
 */
import { lastTurnSplit } from '../cache/turn-split.js';
import type { QuerySplit } from '../cache/wire.js';

export const chatSplit: QuerySplit = lastTurnSplit({ field: 'messages', isUser: (m) => m.role === 'user', textType: 'text', stringPlaceholder: null });

/** A single string prompt; a batch of prompts or token ids is exact only. */
export const completionsSplit: QuerySplit = (params) => {
  const prompt = params.prompt;
  const single = typeof prompt === 'string' ? prompt : Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string' ? prompt[0] : undefined;
  if (single === undefined) return undefined;
  params.prompt = typeof prompt === 'string' ? '<text>' : ['<text>'];
  return single;
};

/** Responses API: `input` as a string, or a list of items whose last is a user message (`input_text` parts). */
const responsesItemsSplit = lastTurnSplit({
  field: 'input',
  isUser: (item) => item.role === 'user' && (item.type === undefined || item.type === 'message'),
  textType: 'input_text',
  stringPlaceholder: '<text>',
});

export const responsesSplit: QuerySplit = (params) => {
  if (typeof params.input !== 'string') return responsesItemsSplit(params);
  const text = params.input;
  params.input = '<text>';
  return text;
};

/** Embeddings: the whole input is the key; nothing is matched semantically. */
export const noSplit: QuerySplit = () => undefined;
