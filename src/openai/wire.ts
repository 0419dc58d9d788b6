/** @module openai/wire: chat completions, completions and embeddings as the pipeline sees them (cache/wire.ts). */
import type { WireApi } from '../cache/wire.js';
import { isCompleteCompletion, usageOf, type ChatChoice, type Completion, type TextChoice } from './completion.js';
import { OPENAI_ERRORS } from './errors.js';
import { completionToFrames } from './completion-to-stream.js';
import { parseRequest } from './request.js';
import { StreamAssembler } from './stream-to-completion.js';

/** The text of every choice, tool calls included, in choice order. */
function choicesText(response: unknown): string {
  const choices = (response as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return '';
  return (choices as Array<Partial<ChatChoice & TextChoice>>)
    .map((c) => {
      if (typeof c.text === 'string') return c.text;
      const calls = (c.message?.tool_calls ?? []).map((t) => `${t.function?.name ?? ''}(${t.function?.arguments ?? ''})`);
      return [c.message?.content ?? '', ...calls].filter(Boolean).join(' ');
    })
    .join('\n');
}

function completionWire(endpoint: 'chat' | 'completions', object: Completion['object']): WireApi {
  return {
    endpoint,
    upstream: 'openai',
    errors: OPENAI_ERRORS,
    parse: (json) => parseRequest(endpoint, json),
    storable: (answer) => isCompleteCompletion(answer) && answer.object === object,
    stream: {
      assemble() {
        const a = new StreamAssembler();
        return {
          add: (data) => a.add(data),
          complete: () => {
            const c = a.complete();
            return c && c.object === object ? c : undefined;
          },
        };
      },
      replay: (answer, includeUsage) => completionToFrames(answer as Completion, includeUsage).join(''),
    },
    usage: (answer) => usageOf(answer as Completion),
    answerText: choicesText,
  };
}

export const CHAT: WireApi = completionWire('chat', 'chat.completion');
export const COMPLETIONS: WireApi = completionWire('completions', 'text_completion');

export const EMBEDDINGS: WireApi = {
  endpoint: 'embeddings',
  upstream: 'openai',
  errors: OPENAI_ERRORS,
  parse: (json) => parseRequest('embeddings', json),
  storable: (answer) => {
    const v = answer as { object?: unknown; data?: unknown } | null;
    return typeof v === 'object' && v !== null && v.object === 'list' && Array.isArray(v.data) && v.data.length > 0;
  },
  // An embedding's cost is its input.
  usage: (answer) => usageOf(answer as Completion),
  answerText: () => '',
};
