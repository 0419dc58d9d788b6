import { describe, expect, it } from 'vitest';
import type { ChatCompletion, Completion, TextCompletion } from '../../src/openai/completion.js';
import { completionToFrames } from '../../src/openai/completion-to-stream.js';
import { SseParser } from '../../src/openai/sse-parse.js';
import { StreamAssembler } from '../../src/openai/stream-to-completion.js';

const usage = { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 };

const chatText: ChatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini',
  system_fingerprint: 'fp_x',
  choices: [
    { index: 0, message: { role: 'assistant', content: 'Héllo 日本 🎉\nsecond line "quoted"' }, logprobs: null, finish_reason: 'stop' },
    { index: 1, message: { role: 'assistant', content: 'Another answer' }, logprobs: null, finish_reason: 'length' },
  ],
  usage,
};

const chatTools: ChatCompletion = {
  id: 'chatcmpl-2',
  object: 'chat.completion',
  created: 1700000001,
  model: 'gpt-4o',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_B', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage,
};

const chatRefusal: ChatCompletion = {
  id: 'chatcmpl-3',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' }, logprobs: null, finish_reason: 'stop' }],
};

const text: TextCompletion = {
  id: 'cmpl-1',
  object: 'text_completion',
  created: 1700000002,
  model: 'gpt-3.5-turbo-instruct',
  choices: [
    { index: 0, text: 'Once upon a time', logprobs: null, finish_reason: 'length' },
    { index: 1, text: ' in a land far away', logprobs: null, finish_reason: 'stop' },
  ],
  usage,
};

/** Frames → bytes → SseParser → the JSON payloads (and '[DONE]'). */
function events(frames: string[]): string[] {
  const p = new SseParser();
  const out = p.push(new TextEncoder().encode(frames.join('')));
  out.push(...p.end());
  return out.map((e) => e.data);
}

function roundTrip(c: Completion, includeUsage: boolean): Completion | undefined {
  const a = new StreamAssembler();
  for (const d of events(completionToFrames(c, includeUsage))) a.add(d);
  return a.complete();
}

const parsedChunks = (frames: string[]) =>
  events(frames)
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d) as Record<string, unknown>);

describe('completionToFrames', () => {
  it.each([false, true])('round-trips a chat completion with n=2 (include_usage=%s)', (includeUsage) => {
    const back = roundTrip(chatText, includeUsage) as ChatCompletion;
    expect(back).toBeDefined();
    expect(back).toMatchObject({ id: chatText.id, object: 'chat.completion', created: chatText.created, model: chatText.model, system_fingerprint: 'fp_x' });
    expect(back.choices.map((c) => [c.index, c.message.role, c.message.content, c.finish_reason])).toEqual(
      chatText.choices.map((c) => [c.index, c.message.role, c.message.content, c.finish_reason]),
    );
    expect(back.usage).toEqual(includeUsage ? usage : null);
  });

  it('round-trips tool calls and their finish_reason', () => {
    const back = roundTrip(chatTools, false) as ChatCompletion;
    expect(back.choices[0]!.message.tool_calls).toEqual(chatTools.choices[0]!.message.tool_calls);
    expect(back.choices[0]!.finish_reason).toBe('tool_calls');
  });

  // BUG (src/openai/completion-to-stream.ts:40): the role chunk always carries `content: ''`, so a stored answer
  // whose content is null (tool calls only) is replayed as content "" — OpenAI's own stream sends `content: null`
  // there, and a JSON hit of the same entry says null.
  it('round-trips a null content (tool calls only) as null', () => {
    const back = roundTrip(chatTools, false) as ChatCompletion;
    expect(back.choices[0]!.message.content).toBeNull();
  });

  it('round-trips a refusal', () => {
    const back = roundTrip(chatRefusal, false) as ChatCompletion;
    expect(back.choices[0]!.message.refusal).toBe('I cannot help with that.');
    expect(back.choices[0]!.finish_reason).toBe('stop');
  });

  it.each([false, true])('round-trips a legacy text completion (include_usage=%s)', (includeUsage) => {
    const back = roundTrip(text, includeUsage) as TextCompletion;
    expect(back).toBeDefined();
    expect(back.object).toBe('text_completion');
    expect(back.choices).toEqual(text.choices);
    expect(back.usage).toEqual(includeUsage ? usage : null);
  });

  it('emits chat.completion.chunk objects for chat and text_completion objects for text', () => {
    expect(new Set(parsedChunks(completionToFrames(chatText, true)).map((c) => c.object))).toEqual(new Set(['chat.completion.chunk']));
    expect(new Set(parsedChunks(completionToFrames(text, true)).map((c) => c.object))).toEqual(new Set(['text_completion']));
  });

  it.each([
    ['chat', chatText],
    ['text', text],
  ] as const)('%s with include_usage: exactly one final usage chunk with choices [], and usage: null on every other chunk', (_, c) => {
    const chunks = parsedChunks(completionToFrames(c, true));
    const withUsage = chunks.filter((ch) => ch.usage !== null);
    expect(withUsage).toHaveLength(1);
    expect(chunks.at(-1)).toBe(withUsage[0]);
    expect(withUsage[0]!.choices).toEqual([]);
    expect(withUsage[0]!.usage).toEqual(usage);
    for (const ch of chunks.slice(0, -1)) {
      expect(ch).toHaveProperty('usage', null);
      expect((ch.choices as unknown[]).length).toBe(1);
    }
  });

  it('with include_usage but no stored usage, the usage chunk reports zeros', () => {
    const chunks = parsedChunks(completionToFrames(chatRefusal, true));
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  it.each([
    ['chat', chatText],
    ['tools', chatTools],
    ['text', text],
  ] as const)('%s without include_usage: no chunk has a usage key and none has empty choices', (_, c) => {
    const chunks = parsedChunks(completionToFrames(c, false));
    expect(chunks.length).toBeGreaterThan(0);
    for (const ch of chunks) {
      expect(Object.keys(ch)).not.toContain('usage');
      expect((ch.choices as unknown[]).length).toBe(1);
    }
  });

  it.each([
    [chatText, false],
    [chatText, true],
    [text, false],
    [text, true],
  ] as const)('every frame is one SSE data event and the last is data: [DONE] (%#)', (c, includeUsage) => {
    const frames = completionToFrames(c, includeUsage);
    expect(frames.at(-1)).toBe('data: [DONE]\n\n');
    expect(frames.filter((f) => f.includes('[DONE]'))).toHaveLength(1);
    for (const f of frames) expect(f).toMatch(/^data: [^\n]*\n\n$/);
    expect(events(frames)).toHaveLength(frames.length);
  });
});
