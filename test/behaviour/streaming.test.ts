/** Streaming misses pass bytes through as they arrive; hits replay in whichever form the request asks. */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness();

async function streamChat(text: string, opts: { includeUsage?: boolean; tools?: boolean } = {}) {
  const { data: stream, response } = await h
    .client()
    .chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: text }],
      stream: true,
      ...(opts.includeUsage && { stream_options: { include_usage: true } }),
      ...(opts.tools && { tools: [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }] }),
    })
    .withResponse();
  let content = '';
  const toolArgs: string[] = [];
  let finish: string | null = null;
  let usage: unknown;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    expect(chunk.object).toBe('chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      content += ch.delta.content ?? '';
      for (const t of ch.delta.tool_calls ?? []) toolArgs[t.index] = (toolArgs[t.index] ?? '') + (t.function?.arguments ?? '');
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  return { headers: response.headers, content, finish, usage, chunks, toolArgs };
}

describe('streaming miss', () => {
  it('delivers the first chunk before upstream has finished', async () => {
    let release!: () => void;
    h.up.next({ holdUntil: new Promise<void>((r) => (release = r)) });
    const { data: stream, response } = await h
      .client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Tell me a long story about a fox.' }], stream: true })
      .withResponse();
    expect(response.headers.get('x-cache-status')).toBe('MISS');
    const it = stream[Symbol.asyncIterator]();
    // Upstream is holding the rest of its answer: these chunks can only have come through as they arrived.
    const first = await it.next();
    const second = await it.next();
    expect(first.done).toBe(false);
    expect(second.value?.choices[0]?.delta.content).toBeTruthy();
    release();
    let rest = '';
    for (let r = await it.next(); !r.done; r = await it.next()) rest += r.value.choices[0]?.delta.content ?? '';
    expect(second.value!.choices[0]!.delta.content! + rest).toMatch(/^Answer #\d+ to: Tell me a long story about a fox\.$/);
  });

  it('stores a completed stream and replays it as a stream through the SDK iterator', async () => {
    const miss = await streamChat('What do pandas eat?', { includeUsage: true });
    expect(miss.headers.get('x-cache-status')).toBe('MISS');
    const hit = await streamChat('What do pandas eat?', { includeUsage: true });
    expect(hit.headers.get('x-cache-status')).toBe('HIT');
    expect(hit.headers.get('content-type')).toContain('text/event-stream');
    expect(hit.content).toBe(miss.content);
    expect(hit.finish).toBe('stop');
    expect(hit.usage).toEqual(miss.usage);
    expect(h.up.count()).toBe(1);
  });

  it('replays tool calls', async () => {
    const miss = await streamChat('What is the weather in Paris?', { tools: true });
    const hit = await streamChat('What is the weather in Paris?', { tools: true });
    expect(hit.headers.get('x-cache-status')).toBe('HIT');
    expect(hit.finish).toBe('tool_calls');
    expect(hit.toolArgs).toEqual(miss.toolArgs);
    expect(JSON.parse(hit.toolArgs[0]!)).toEqual({ city: 'Paris' });
  });

  it('without include_usage the replay has no usage chunk; with it, it has one', async () => {
    await streamChat('Why is the sky blue?');
    const plain = await streamChat('Why is the sky blue?');
    expect(plain.headers.get('x-cache-status')).toBe('HIT');
    expect(plain.usage).toBeUndefined();
    const withUsage = await streamChat('Why is the sky blue?', { includeUsage: true });
    expect(withUsage.headers.get('x-cache-status')).toBe('HIT');
    expect(withUsage.usage).toMatchObject({ total_tokens: expect.any(Number) });
  });
});

describe('either form serves the other', () => {
  it('a JSON-stored entry serves a streaming request', async () => {
    const json = await chat(h.client(), ask('How far away is the moon?'));
    const stream = await streamChat('How far away is the moon?', { includeUsage: true });
    expect(stream.headers.get('x-cache-status')).toBe('HIT');
    expect(stream.content).toBe(json.data.choices[0]!.message.content);
    expect(stream.usage).toEqual(json.data.usage);
    expect(h.up.count()).toBe(1);
  });

  it('a stream-stored entry serves a JSON request', async () => {
    const stream = await streamChat('How hot is the surface of the sun?', { includeUsage: true });
    const json = await chat(h.client(), ask('How hot is the surface of the sun?'));
    expect(json.headers.get('x-cache-status')).toBe('HIT');
    expect(json.data.object).toBe('chat.completion');
    expect(json.data.choices[0]!.message).toMatchObject({ role: 'assistant', content: stream.content });
    expect(json.data.choices[0]!.finish_reason).toBe('stop');
    expect(json.data.usage).toEqual(stream.usage);
    expect(h.up.count()).toBe(1);
  });
});

describe('legacy completions', () => {
  it('caches /v1/completions and replays it as a stream', async () => {
    const c = h.client();
    const first = await c.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hello to the world' }).withResponse();
    expect(first.response.headers.get('x-cache-status')).toBe('MISS');
    const { data: stream, response } = await c.completions
      .create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hello to the world', stream: true })
      .withResponse();
    expect(response.headers.get('x-cache-status')).toBe('HIT');
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(first.data.choices[0]!.text);
    expect(h.up.count('/completions')).toBe(1);
  });
});
