/** @module openai/completion-to-stream: replay a stored response as the SSE events OpenAI would have sent. */
import type { ChatCompletion, Completion, TextCompletion, Usage } from './completion.js';
import { SSE_DONE, sseData } from './sse-serialize.js';

const ZERO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

/**
 * The SSE frames for `c`: per choice a role chunk, the content, tool calls, and a finish chunk; then the usage
 * chunk when the request asked for it (`stream_options.include_usage`), then `[DONE]`.
 */
export function completionToFrames(c: Completion, includeUsage: boolean): string[] {
  const frames = c.object === 'text_completion' ? textFrames(c, includeUsage) : chatFrames(c, includeUsage);
  if (includeUsage) {
    const head = chunkHead(c);
    frames.push(sseData({ ...head, choices: [], usage: c.usage ?? ZERO_USAGE }));
  }
  frames.push(SSE_DONE);
  return frames;
}

function chunkHead(c: Completion) {
  return {
    id: c.id,
    object: c.object === 'text_completion' ? 'text_completion' : 'chat.completion.chunk',
    created: c.created,
    model: c.model,
    system_fingerprint: c.system_fingerprint ?? null,
  };
}

function chatFrames(c: ChatCompletion, includeUsage: boolean): string[] {
  const head = { ...chunkHead(c), ...(c.service_tier != null && { service_tier: c.service_tier }) };
  const usage = includeUsage ? { usage: null } : {};
  const frame = (choice: Record<string, unknown>) => sseData({ ...head, choices: [choice], ...usage });
  const frames: string[] = [];
  for (const ch of c.choices) {
    const m = ch.message;
    frames.push(frame({ index: ch.index, delta: { role: m.role, content: m.content === null ? null : '', refusal: null }, logprobs: null, finish_reason: null }));
    if (m.content) {
      frames.push(frame({ index: ch.index, delta: { content: m.content }, logprobs: ch.logprobs ?? null, finish_reason: null }));
    }
    if (m.refusal) frames.push(frame({ index: ch.index, delta: { refusal: m.refusal }, logprobs: null, finish_reason: null }));
    if (m.tool_calls?.length) {
      const tool_calls = m.tool_calls.map((t, i) => ({ index: i, id: t.id, type: t.type ?? 'function', function: t.function }));
      frames.push(frame({ index: ch.index, delta: { tool_calls }, logprobs: null, finish_reason: null }));
    }
    if (m.function_call) {
      frames.push(frame({ index: ch.index, delta: { function_call: m.function_call }, logprobs: null, finish_reason: null }));
    }
    frames.push(frame({ index: ch.index, delta: {}, logprobs: null, finish_reason: ch.finish_reason }));
  }
  return frames;
}

function textFrames(c: TextCompletion, includeUsage: boolean): string[] {
  const head = chunkHead(c);
  const usage = includeUsage ? { usage: null } : {};
  const frames: string[] = [];
  for (const ch of c.choices) {
    frames.push(sseData({ ...head, choices: [{ index: ch.index, text: ch.text, logprobs: ch.logprobs ?? null, finish_reason: null }], ...usage }));
    frames.push(sseData({ ...head, choices: [{ index: ch.index, text: '', logprobs: null, finish_reason: ch.finish_reason }], ...usage }));
  }
  return frames;
}
