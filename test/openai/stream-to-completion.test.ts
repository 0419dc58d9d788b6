import { describe, expect, it } from 'vitest';
import type { ChatCompletion, TextCompletion } from '../../src/openai/completion.js';
import { StreamAssembler } from '../../src/openai/stream-to-completion.js';

const HEAD = { id: 'chatcmpl-abc', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_1' };

const chat = (choices: object[], extra: object = {}) => JSON.stringify({ ...HEAD, choices, ...extra });
const delta = (d: object, finish: string | null = null, index = 0) => chat([{ index, delta: d, logprobs: null, finish_reason: finish }]);

function assemble(events: string[]) {
  const a = new StreamAssembler();
  for (const e of events) a.add(e);
  return a.complete();
}

describe('StreamAssembler: chat', () => {
  it('assembles role, content and finish_reason from a typical stream', () => {
    const c = assemble([
      delta({ role: 'assistant', content: '', refusal: null }),
      delta({ content: 'Hello' }),
      delta({ content: ', wörld 🎉' }),
      delta({}, 'stop'),
      '[DONE]',
    ]) as ChatCompletion;
    expect(c).toMatchObject({ id: 'chatcmpl-abc', object: 'chat.completion', created: 1700000000, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_1', usage: null });
    expect(c.choices).toEqual([{ index: 0, message: { role: 'assistant', content: 'Hello, wörld 🎉' }, logprobs: null, finish_reason: 'stop' }]);
  });

  it('keeps the role the stream sends', () => {
    const c = assemble([delta({ role: 'developer-ish', content: 'x' }), delta({}, 'stop'), '[DONE]']) as ChatCompletion;
    expect(c.choices[0]!.message.role).toBe('developer-ish');
  });

  it('assembles a refusal', () => {
    const c = assemble([
      delta({ role: 'assistant', content: null, refusal: '' }),
      delta({ refusal: "I'm sorry, " }),
      delta({ refusal: 'I cannot help with that.' }),
      delta({}, 'stop'),
      '[DONE]',
    ]) as ChatCompletion;
    expect(c.choices[0]!.message.refusal).toBe("I'm sorry, I cannot help with that.");
    expect(c.choices[0]!.message.content).toBeNull();
  });

  it('assembles tool calls split across chunks: id and name first, arguments in fragments, two in parallel by index', () => {
    const tc = (calls: object[]) => delta({ tool_calls: calls });
    const c = assemble([
      delta({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      tc([{ index: 0, function: { arguments: '{"city"' } }]),
      tc([{ index: 1, id: 'call_B', type: 'function', function: { name: 'get_time', arguments: '' } }]),
      tc([{ index: 0, function: { arguments: ': "Paris"}' } }]),
      tc([{ index: 1, function: { arguments: '{"tz":' } }]),
      tc([{ index: 1, function: { arguments: ' "CET"}' } }]),
      delta({}, 'tool_calls'),
      '[DONE]',
    ]) as ChatCompletion;
    const m = c.choices[0]!.message;
    expect(m.content).toBeNull();
    expect(m.tool_calls).toEqual([
      { id: 'call_A', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
      { id: 'call_B', type: 'function', function: { name: 'get_time', arguments: '{"tz": "CET"}' } },
    ]);
    expect(JSON.parse(m.tool_calls![1]!.function!.arguments!)).toEqual({ tz: 'CET' });
    expect(c.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('assembles a legacy function_call', () => {
    const c = assemble([
      delta({ role: 'assistant', content: null, function_call: { name: 'lookup', arguments: '' } }),
      delta({ function_call: { arguments: '{"q":' } }),
      delta({ function_call: { arguments: '1}' } }),
      delta({}, 'function_call'),
      '[DONE]',
    ]) as ChatCompletion;
    expect(c.choices[0]!.message.function_call).toEqual({ name: 'lookup', arguments: '{"q":1}' });
  });

  it('assembles n=2 choices whose chunks are interleaved, sorted by index', () => {
    const c = assemble([
      delta({ role: 'assistant', content: '' }, null, 1),
      delta({ role: 'assistant', content: '' }, null, 0),
      delta({ content: 'B1' }, null, 1),
      delta({ content: 'A1' }, null, 0),
      delta({ content: 'A2' }, null, 0),
      delta({ content: 'B2' }, null, 1),
      delta({}, 'length', 1),
      delta({}, 'stop', 0),
      '[DONE]',
    ]) as ChatCompletion;
    expect(c.choices.map((ch) => [ch.index, ch.message.content, ch.finish_reason])).toEqual([
      [0, 'A1A2', 'stop'],
      [1, 'B1B2', 'length'],
    ]);
  });

  it('takes usage from the final chunk with empty choices', () => {
    const usage = { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11, completion_tokens_details: { reasoning_tokens: 0 } };
    const c = assemble([
      chat([{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }], { usage: null }),
      chat([{ index: 0, delta: {}, finish_reason: 'stop' }], { usage: null }),
      chat([], { usage }),
      '[DONE]',
    ]) as ChatCompletion;
    expect(c.usage).toEqual(usage);
    expect(c.choices).toHaveLength(1);
    expect(c.choices[0]!.message.content).toBe('Hi');
  });

  it('accumulates logprobs content across chunks', () => {
    const lp = (t: string) => ({ token: t, logprob: -0.1, bytes: null, top_logprobs: [] });
    const c = assemble([
      chat([{ index: 0, delta: { role: 'assistant', content: 'a' }, logprobs: { content: [lp('a')] }, finish_reason: null }]),
      chat([{ index: 0, delta: { content: 'b' }, logprobs: { content: [lp('b')] }, finish_reason: 'stop' }]),
      '[DONE]',
    ]) as ChatCompletion;
    expect(c.choices[0]!.logprobs?.content).toEqual([lp('a'), lp('b')]);
  });

  it('ignores anything after [DONE]', () => {
    const c = assemble([delta({ role: 'assistant', content: 'x' }), delta({}, 'stop'), '[DONE]', delta({ content: 'late' }), 'not json']) as ChatCompletion;
    expect(c.choices[0]!.message.content).toBe('x');
  });
});

describe('StreamAssembler: legacy text_completion', () => {
  it('assembles text chunks per choice', () => {
    const t = (index: number, text: string, finish: string | null = null) =>
      JSON.stringify({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'gpt-3.5-turbo-instruct', choices: [{ index, text, logprobs: null, finish_reason: finish }] });
    const c = assemble([t(0, 'Once'), t(1, 'In'), t(0, ' upon'), t(1, ' a'), t(0, '', 'length'), t(1, ' land', 'stop'), '[DONE]']) as TextCompletion;
    expect(c.object).toBe('text_completion');
    expect(c.id).toBe('cmpl-1');
    expect(c.choices).toEqual([
      { index: 0, text: 'Once upon', logprobs: null, finish_reason: 'length' },
      { index: 1, text: 'In a land', logprobs: null, finish_reason: 'stop' },
    ]);
  });
});

describe('StreamAssembler: incomplete or failed streams return undefined', () => {
  const good = [delta({ role: 'assistant', content: 'ok' }), delta({}, 'stop')];

  it('a clean stream is complete (control)', () => {
    expect(assemble([...good, '[DONE]'])).toBeDefined();
  });

  it('without [DONE]', () => {
    expect(assemble(good)).toBeUndefined();
  });

  it('with an in-stream error event', () => {
    const err = JSON.stringify({ error: { message: 'The server had an error', type: 'server_error', param: null, code: null } });
    expect(assemble([good[0]!, err, good[1]!, '[DONE]'])).toBeUndefined();
  });

  it('with invalid JSON', () => {
    expect(assemble([good[0]!, '{"id":"chatcmpl-abc",', good[1]!, '[DONE]'])).toBeUndefined();
  });

  it('with a missing finish_reason', () => {
    expect(assemble([good[0]!, '[DONE]'])).toBeUndefined();
  });

  it('with one of two choices missing its finish_reason', () => {
    expect(assemble([...good, delta({ role: 'assistant', content: 'x' }, null, 1), '[DONE]'])).toBeUndefined();
  });

  it('with finish_reason "content_filter"', () => {
    expect(assemble([good[0]!, delta({}, 'content_filter'), '[DONE]'])).toBeUndefined();
  });

  it('with no choices at all', () => {
    expect(assemble([chat([], { usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 } }), '[DONE]'])).toBeUndefined();
  });

  // BUG (src/openai/stream-to-completion.ts:58): `chunk.error` is read before checking `chunk === null`, so the
  // JSON payload `null` throws a TypeError instead of marking the stream failed. In cache/tee.ts the throw escapes
  // pull() and errors the client's stream.
  it('with a JSON null payload: marks the stream failed instead of throwing', () => {
    const a = new StreamAssembler();
    a.add(good[0]!);
    expect(() => a.add('null')).not.toThrow();
    a.add(good[1]!);
    a.add('[DONE]');
    expect(a.complete()).toBeUndefined();
  });
});
