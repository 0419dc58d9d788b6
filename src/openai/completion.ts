/** @module openai/completion: the response shapes Reprise stores, and the check that one is complete. */
import { tokenCount } from '../observe/prices.js';

export interface ToolCall {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

export interface ChatChoice {
  index: number;
  message: {
    role: string;
    content: string | null;
    refusal?: string | null;
    tool_calls?: ToolCall[];
    function_call?: { name?: string; arguments?: string };
    [k: string]: unknown;
  };
  logprobs?: { content?: unknown[] | null; refusal?: unknown[] | null } | null;
  finish_reason: string | null;
}

export interface TextChoice {
  index: number;
  text: string;
  logprobs?: unknown;
  finish_reason: string | null;
}

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  [k: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatChoice[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
  service_tier?: string | null;
}

export interface TextCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: TextChoice[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
}

/** Anything Reprise stores as an answer. Embeddings responses are stored as-is. */
export type Completion = ChatCompletion | TextCompletion;

/** Finish reasons we refuse to store: the answer was cut short for a reason unrelated to the request. */
const UNSTORABLE_FINISH = new Set(['content_filter']);

/**
 * A completion is storable when it has choices and every choice finished for a reason that will recur
 * for the same request (stop, length, tool_calls...).
 */
export function isCompleteCompletion(value: unknown): value is Completion {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { object?: unknown; choices?: unknown };
  if (v.object !== 'chat.completion' && v.object !== 'text_completion') return false;
  if (!Array.isArray(v.choices) || v.choices.length === 0) return false;
  return v.choices.every(
    (c: { finish_reason?: unknown }) => typeof c?.finish_reason === 'string' && !UNSTORABLE_FINISH.has(c.finish_reason),
  );
}

/**
 * What an answer cost upstream, by kind: prompt and completion tokens, and the prompt tokens the upstream served from
 * its own prompt cache (`prompt_tokens_details.cached_tokens`, part of `prompt_tokens`) apart.
 */
export function usageOf(c: { usage?: Usage | null } | null): { input: number; output: number; cachedInput: number } {
  const u = c?.usage;
  const details = u?.prompt_tokens_details as { cached_tokens?: unknown } | null | undefined;
  const cached = tokenCount(details?.cached_tokens);
  return { input: Math.max(0, tokenCount(u?.prompt_tokens) - cached), output: tokenCount(u?.completion_tokens), cachedInput: cached };
}
