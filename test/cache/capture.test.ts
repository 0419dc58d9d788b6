/** Tests cache/capture: what a copy of an upstream answer (JSON or SSE, fed in pieces) says about storing it. */
import { describe, expect, it } from 'vitest';
import { Capture } from '../../src/cache/capture.js';
import type { WireApi } from '../../src/cache/wire.js';
import { completionToFrames } from '../../src/openai/completion-to-stream.js';
import type { ChatCompletion, TextCompletion } from '../../src/openai/completion.js';
import { CHAT, COMPLETIONS, EMBEDDINGS } from '../../src/openai/wire.js';

const enc = new TextEncoder();

/** Feed `chunks` to a fresh capture and finish it. */
function capture(wire: WireApi, sse: boolean, chunks: Uint8Array[], maxBytes?: number) {
  const c = maxBytes === undefined ? new Capture(wire, sse) : new Capture(wire, sse, maxBytes);
  for (const chunk of chunks) c.push(chunk);
  return c.finish();
}

/** Every way of cutting `bytes` into two pieces (either may be empty), plus one byte per chunk. */
function* splits(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let i = 0; i <= bytes.length; i++) yield [bytes.subarray(0, i), bytes.subarray(i)];
  yield Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

const CHAT_ANSWER: ChatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'héllo wörld 😀' }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
  system_fingerprint: null,
};

/** A streamed answer with content and tool calls, multi-byte characters in both. */
const TOOL_ANSWER: ChatCompletion = {
  id: 'chatcmpl-2',
  object: 'chat.completion',
  created: 1700000001,
  model: 'gpt-4o-mini',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'héllo wörld 😀',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Zürich"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"tz":"東京"}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 },
  system_fingerprint: null,
};

const TEXT_ANSWER: TextCompletion = {
  id: 'cmpl-1',
  object: 'text_completion',
  created: 1700000000,
  model: 'gpt-3.5-turbo-instruct',
  choices: [{ index: 0, text: 'ünïcode', logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  system_fingerprint: null,
};

const EMBEDDINGS_ANSWER = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model: 'text-embedding-3-small', usage: { prompt_tokens: 1, total_tokens: 1 } };

const json = (v: unknown) => enc.encode(JSON.stringify(v));
const withChoice = (patch: object): ChatCompletion => ({ ...CHAT_ANSWER, choices: [{ ...CHAT_ANSWER.choices[0]!, ...patch }] });

describe('Capture: JSON answers', () => {
  it('a complete chat.completion captured in pieces, cut at any byte, is the parsed answer', () => {
    const bytes = json(CHAT_ANSWER);
    for (const chunks of splits(bytes)) expect(capture(CHAT, false, chunks)).toMatchObject({ ok: true, answer: CHAT_ANSWER });
  });

  it('each wire stores its own kind of answer', () => {
    expect(capture(COMPLETIONS, false, [json(TEXT_ANSWER)])).toMatchObject({ ok: true, answer: TEXT_ANSWER });
    expect(capture(EMBEDDINGS, false, [json(EMBEDDINGS_ANSWER)])).toMatchObject({ ok: true, answer: EMBEDDINGS_ANSWER });
  });

  it('a body that is not JSON, or is cut short, is invalid-json', () => {
    const bytes = json(CHAT_ANSWER);
    expect(capture(CHAT, false, [bytes.subarray(0, bytes.length - 1)])).toEqual({ ok: false, reason: 'invalid-json' });
    expect(capture(CHAT, false, [enc.encode('<html>502 Bad Gateway</html>')])).toEqual({ ok: false, reason: 'invalid-json' });
    expect(capture(CHAT, false, [])).toEqual({ ok: false, reason: 'invalid-json' });
  });

  it('JSON that is not a complete answer for the wire is incomplete', () => {
    const incomplete = { ok: false, reason: 'incomplete' };
    expect(capture(CHAT, false, [json(withChoice({ finish_reason: null }))])).toEqual(incomplete);
    expect(capture(CHAT, false, [json(withChoice({ finish_reason: 'content_filter' }))])).toEqual(incomplete);
    expect(capture(CHAT, false, [json({ ...CHAT_ANSWER, choices: [] })])).toEqual(incomplete);
    expect(capture(CHAT, false, [json({ error: { message: 'x', type: 'server_error', param: null, code: null } })])).toEqual(incomplete);
    // The wrong object for the wire.
    expect(capture(CHAT, false, [json(TEXT_ANSWER)])).toEqual(incomplete);
    expect(capture(COMPLETIONS, false, [json(CHAT_ANSWER)])).toEqual(incomplete);
    expect(capture(CHAT, false, [json(EMBEDDINGS_ANSWER)])).toEqual(incomplete);
    expect(capture(EMBEDDINGS, false, [json(CHAT_ANSWER)])).toEqual(incomplete);
    expect(capture(EMBEDDINGS, false, [json({ ...EMBEDDINGS_ANSWER, data: [] })])).toEqual(incomplete);
  });

  it('over maxBytes is too-large; exactly maxBytes is kept', () => {
    const bytes = json(CHAT_ANSWER);
    const halves = [bytes.subarray(0, 10), bytes.subarray(10)];
    expect(capture(CHAT, false, halves, bytes.length)).toEqual({ ok: true, answer: CHAT_ANSWER, bytes: bytes.length });
    expect(capture(CHAT, false, halves, bytes.length - 1)).toEqual({ ok: false, reason: 'too-large' });
    expect(capture(CHAT, false, [bytes], bytes.length - 1)).toEqual({ ok: false, reason: 'too-large' });
  });
});

describe('Capture: SSE answers', () => {
  const streamOf = (c: ChatCompletion | TextCompletion, includeUsage = true) => enc.encode(completionToFrames(c, includeUsage).join(''));

  it('a whole tool-call stream assembles to the answer it was made from', () => {
    expect(capture(CHAT, true, [streamOf(TOOL_ANSWER)])).toMatchObject({ ok: true, answer: TOOL_ANSWER });
  });

  it('split at every byte boundary (multi-byte UTF-8 included) into two chunks, and one byte per chunk, it assembles the same', () => {
    const bytes = streamOf(TOOL_ANSWER);
    // The cuts do land inside multi-byte characters: 😀 is four bytes, ü and 東 two and three.
    expect(bytes.length).toBeGreaterThan(new TextDecoder().decode(bytes).length);
    let n = 0;
    for (const chunks of splits(bytes)) {
      expect(capture(CHAT, true, chunks)).toMatchObject({ ok: true, answer: TOOL_ANSWER });
      n++;
    }
    expect(n).toBe(bytes.length + 2);
  });

  it('a completions stream assembles to a text_completion; the chat wire will not store it', () => {
    const bytes = streamOf(TEXT_ANSWER);
    expect(capture(COMPLETIONS, true, [bytes])).toMatchObject({ ok: true, answer: TEXT_ANSWER });
    expect(capture(CHAT, true, [bytes])).toEqual({ ok: false, reason: 'incomplete-stream' });
  });

  it('a stream without [DONE] is incomplete-stream', () => {
    const frames = completionToFrames(TOOL_ANSWER, true);
    expect(frames.at(-1)).toBe('data: [DONE]\n\n');
    expect(capture(CHAT, true, [enc.encode(frames.slice(0, -1).join(''))])).toEqual({ ok: false, reason: 'incomplete-stream' });
    // [DONE] without the blank line that ends its event never arrived either.
    expect(capture(CHAT, true, [enc.encode(`${frames.slice(0, -1).join('')}data: [DONE]`)])).toEqual({ ok: false, reason: 'incomplete-stream' });
  });

  it('a stream with an error event is incomplete-stream, even when [DONE] follows', () => {
    const frames = completionToFrames(TOOL_ANSWER, true);
    const error = `data: ${JSON.stringify({ error: { message: 'overloaded', type: 'server_error', param: null, code: null } })}\n\n`;
    const broken = [...frames.slice(0, 2), error, ...frames.slice(2)].join('');
    expect(capture(CHAT, true, [enc.encode(broken)])).toEqual({ ok: false, reason: 'incomplete-stream' });
  });

  it('a stream that reached [DONE] with no finish_reason is incomplete-stream', () => {
    const frames = completionToFrames(TOOL_ANSWER, false);
    // Drop the finish chunk (the one before [DONE]).
    const cut = [...frames.slice(0, -2), frames.at(-1)!].join('');
    expect(capture(CHAT, true, [enc.encode(cut)])).toEqual({ ok: false, reason: 'incomplete-stream' });
  });

  it('over maxBytes is too-large, even for a stream that completed; exactly maxBytes is kept', () => {
    const bytes = streamOf(TOOL_ANSWER);
    const halves = [bytes.subarray(0, 100), bytes.subarray(100)];
    expect(capture(CHAT, true, halves, bytes.length)).toMatchObject({ ok: true, answer: TOOL_ANSWER });
    expect(capture(CHAT, true, halves, bytes.length - 1)).toEqual({ ok: false, reason: 'too-large' });
  });
});
