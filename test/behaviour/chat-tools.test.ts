/**
 * Chat completions with tools, through Reprise with the real `openai` SDK: tool-call answers (one call, parallel
 * calls) stored on a miss and replayed exactly as JSON and as streams the SDK assembles; streamed tool-call misses
 * reassembled from their argument deltas; tool results and images in the scope; and hits that keep the original
 * body, usage included, saying HIT only in their headers.
 */
import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';
import { keepingHeaders } from '../helpers/sse-events.js';
import { exchange } from '../helpers/raw-http.js';

const h = useHarness();

const MODEL = 'gpt-4o-mini';
const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  },
];
type Body = Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'model' | 'stream'>;
type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** A one-message question with the weather tool offered. */
const weather = (text: string): Body => ({ messages: [{ role: 'user', content: text }], tools: TOOLS });

const status = (headers: Headers) => [headers.get('x-cache-status'), headers.get('x-cache-match')];
const calls = () => h.up.count('/chat/completions');
/** the fake upstream's call number k, from the answer's id */
const callNumber = (c: { id: string }) => c.id.replace('chatcmpl-fake-', '');

interface Call {
  id: string;
  type: string;
  name: string;
  arguments: string;
}

/** A message's tool calls, flat. */
function toolCallsOf(m: OpenAI.Chat.Completions.ChatCompletionMessage): Call[] {
  return (m.tool_calls ?? []).map((t) =>
    t.type === 'function'
      ? { id: t.id, type: t.type, name: t.function.name, arguments: t.function.arguments }
      : { id: t.id, type: t.type, name: t.custom.name, arguments: t.custom.input },
  );
}

/** The calls the fake upstream makes for `cities`, in order: the first keeps the id a single call has. */
const expectedCalls = (k: string, cities: string[]): Call[] =>
  cities.map((city, i) => ({ id: i === 0 ? `call_fake_${k}` : `call_fake_${k}_${i}`, type: 'function', name: 'get_weather', arguments: JSON.stringify({ city }) }));

/** `stream: true`, iterated chunk by chunk, and folded by hand: what a client that reads deltas sees. */
async function iterate(client: OpenAI, body: Body, includeUsage = false) {
  const { data: stream, response } = await client.chat.completions
    .create({ model: MODEL, ...body, stream: true, ...(includeUsage && { stream_options: { include_usage: true } }) })
    .withResponse();
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const toolCalls: Call[] = [];
  let content: string | null = null;
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  for (const chunk of chunks) {
    expect(chunk.object).toBe('chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      if (typeof ch.delta.content === 'string') content = (content ?? '') + ch.delta.content;
      for (const t of ch.delta.tool_calls ?? []) {
        const call = (toolCalls[t.index] ??= { id: '', type: '', name: '', arguments: '' });
        if (t.id) call.id = t.id;
        if (t.type) call.type = t.type;
        call.name += t.function?.name ?? '';
        call.arguments += t.function?.arguments ?? '';
      }
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  return { headers: response.headers, chunks, toolCalls, content, finish, usage, id: chunks[0]!.id };
}

/**
 * Through the SDK's stream helper, `chat.completions.stream(...).finalChatCompletion()`, and the headers (the helper
 * does not hand out its response: a client of the same key whose fetch keeps them makes the call).
 */
async function helper(client: OpenAI, body: Body, includeUsage = false) {
  const keeping = keepingHeaders(client);
  const final = await keeping.client.chat.completions
    .stream({ model: MODEL, ...body, ...(includeUsage && { stream_options: { include_usage: true } }) })
    .finalChatCompletion();
  return { final, headers: keeping.headers() };
}

const CASES: Array<[string, string, string[]]> = [
  ['one tool call', 'What is the weather in Paris?', ['Paris']],
  ['two parallel tool calls', 'What is the weather in Paris and in Rome?', ['Paris', 'Rome']],
];

describe('tool-call answers: stored on a miss, replayed exactly', () => {
  it.each(CASES)('%s: stored on a miss, and an exact JSON hit deep-equals the original', async (_, text, cities) => {
    const c = h.client();
    const first = await chat(c, weather(text));
    expect(status(first.headers)).toEqual(['MISS', null]);
    const choice = first.data.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(toolCallsOf(choice.message)).toEqual(expectedCalls(callNumber(first.data), cities));

    const again = await chat(c, weather(text));
    expect(status(again.headers)).toEqual(['HIT', 'exact']);
    expect(again.data).toStrictEqual(first.data);
    expect(calls()).toBe(1);
  });

  it.each(CASES)('%s: a JSON-stored answer replays as a stream the SDK helper assembles into the same calls and usage', async (_, text, cities) => {
    const c = h.client();
    const first = await chat(c, weather(text));
    const replay = await helper(c, weather(text), true);
    expect(status(replay.headers)).toEqual(['HIT', 'exact']);
    expect(replay.headers.get('content-type')).toContain('text/event-stream');
    const choice = replay.final.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(toolCallsOf(choice.message)).toEqual(toolCallsOf(first.data.choices[0]!.message));
    expect(toolCallsOf(choice.message).map((t) => JSON.parse(t.arguments) as unknown)).toEqual(cities.map((city) => ({ city })));
    expect(replay.final.id).toBe(first.data.id);
    expect(replay.final.created).toBe(first.data.created);
    expect(replay.final.model).toBe(first.data.model);
    expect(replay.final.usage).toEqual(first.data.usage);
    expect(calls()).toBe(1);
  });

  it.each(CASES)('%s: iterated with stream:true, the replay carries the calls, and a usage chunk only with include_usage', async (_, text) => {
    const c = h.client();
    const first = await chat(c, weather(text));
    const original = toolCallsOf(first.data.choices[0]!.message);

    const withUsage = await iterate(c, weather(text), true);
    expect(status(withUsage.headers)).toEqual(['HIT', 'exact']);
    expect(withUsage.toolCalls).toEqual(original);
    expect(withUsage.finish).toBe('tool_calls');
    expect(withUsage.content).toBeNull();
    expect(withUsage.id).toBe(first.data.id);
    // the usage chunk comes last, with no choices, carrying the stored usage
    const last = withUsage.chunks[withUsage.chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(first.data.usage);
    expect(withUsage.chunks.slice(0, -1).every((ch) => ch.usage == null)).toBe(true);

    const plain = await iterate(c, weather(text));
    expect(status(plain.headers)).toEqual(['HIT', 'exact']);
    expect(plain.toolCalls).toEqual(original);
    expect(plain.usage).toBeUndefined();
    expect(plain.chunks.every((ch) => ch.choices.length > 0)).toBe(true);
    expect(calls()).toBe(1);
  });
});

describe('a streamed tool-call miss', () => {
  it.each(CASES)('%s: argument deltas as OpenAI streams them, reassembled so the JSON hit has the calls the stream gave', async (_, text, cities) => {
    const c = h.client();
    const miss = await iterate(c, weather(text), true);
    expect(status(miss.headers)).toEqual(['MISS', null]);
    const k = callNumber(miss);
    expect(miss.toolCalls).toEqual(expectedCalls(k, cities));
    expect(miss.finish).toBe('tool_calls');

    // What came through: per call one delta with its index, id, type, name and empty arguments, then fragments
    // with only the index and the arguments.
    const deltas = miss.chunks.flatMap((ch) => ch.choices.flatMap((x) => x.delta.tool_calls ?? []));
    const heads = deltas.filter((d) => d.id !== undefined);
    expect(heads).toEqual(expectedCalls(k, cities).map((t, index) => ({ index, id: t.id, type: 'function', function: { name: 'get_weather', arguments: '' } })));
    const fragments = deltas.filter((d) => d.id === undefined);
    expect(fragments.length).toBeGreaterThan(cities.length);
    for (const f of fragments) {
      expect(Object.keys(f).sort()).toEqual(['function', 'index']);
      expect(Object.keys(f.function!)).toEqual(['arguments']);
    }

    const json = await chat(c, weather(text));
    expect(status(json.headers)).toEqual(['HIT', 'exact']);
    const m = json.data.choices[0]!.message;
    expect(toolCallsOf(m)).toEqual(miss.toolCalls);
    expect(toolCallsOf(m).map((t) => JSON.parse(t.arguments) as unknown)).toEqual(cities.map((city) => ({ city })));
    expect(m.content).toBeNull();
    expect(json.data.choices[0]!.finish_reason).toBe('tool_calls');
    expect(json.data.id).toBe(miss.id);
    expect(json.data.usage).toEqual(miss.usage);

    // and replayed as a stream again, the SDK helper agrees
    const replay = await helper(c, weather(text));
    expect(status(replay.headers)).toEqual(['HIT', 'exact']);
    expect(toolCallsOf(replay.final.choices[0]!.message)).toEqual(miss.toolCalls);
    expect(calls()).toBe(1);
  });
});

/** The weather question, the assistant's call, and the tool's `result`; `after` follows it. */
function toolTurn(result: string, ...after: Message[]): Body {
  return {
    tools: TOOLS,
    messages: [
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: result },
      ...after,
    ],
  };
}

describe('tool results', () => {
  it('a different tool result after the same history is never a hit', async () => {
    const c = h.client();
    const sunny = await chat(c, toolTurn('18C and sunny'));
    expect(status(sunny.headers)).toEqual(['MISS', null]);
    expect(sunny.data.choices[0]!.message.content).toBe('Tool said: 18C and sunny');
    const rainy = await chat(c, toolTurn('9C and rain'));
    expect(status(rainy.headers)).toEqual(['MISS', null]);
    expect(rainy.data.choices[0]!.message.content).toBe('Tool said: 9C and rain');
    const nearly = await chat(c, toolTurn('18C and sunny.'));
    expect(status(nearly.headers)).toEqual(['MISS', null]);
    expect(nearly.data.choices[0]!.message.content).toBe('Tool said: 18C and sunny.');
    expect(calls()).toBe(3);
    // each result keeps its own answer
    const again = await chat(c, toolTurn('18C and sunny'));
    expect(status(again.headers)).toEqual(['HIT', 'exact']);
    expect(again.data).toStrictEqual(sunny.data);
    expect(calls()).toBe(3);
  });

  it('a conversation ending in a tool message is exact-only: an identical repeat is an exact hit, no near twin a semantic one', async () => {
    const c = h.client();
    const a = 'It is 18C and sunny in Paris.';
    // extra spaces inside the line: not the exact key, but the semantic lookup serves it when a user says it
    const twin = 'It is  18C and sunny  in Paris.';

    // the control: as the user's last turn, the twin is a semantic hit
    await chat(c, toolTurn('ok', { role: 'assistant', content: 'Noted.' }, { role: 'user', content: a }));
    const control = await chat(c, toolTurn('ok', { role: 'assistant', content: 'Noted.' }, { role: 'user', content: twin }));
    expect(status(control.headers)).toEqual(['HIT', 'semantic']);
    expect(calls()).toBe(1);

    // as the tool's result, ending the conversation: exact only
    const first = await chat(c, toolTurn(a));
    expect(status(first.headers)).toEqual(['MISS', null]);
    const repeat = await chat(c, toolTurn(a));
    expect(status(repeat.headers)).toEqual(['HIT', 'exact']);
    expect(repeat.data).toStrictEqual(first.data);
    const near = await chat(c, toolTurn(twin));
    expect(status(near.headers)).toEqual(['MISS', null]);
    expect(near.data.choices[0]!.message.content).toBe(`Tool said: ${twin}`);
    expect(calls()).toBe(3);
  });

  it('a streamed answer to a tool result is stored, and the identical conversation is an exact hit in either form', async () => {
    const c = h.client();
    const miss = await iterate(c, toolTurn('18C and sunny'), true);
    expect(status(miss.headers)).toEqual(['MISS', null]);
    expect(miss.content).toBe('Tool said: 18C and sunny');
    const json = await chat(c, toolTurn('18C and sunny'));
    expect(status(json.headers)).toEqual(['HIT', 'exact']);
    expect(json.data.choices[0]!.message.content).toBe(miss.content);
    expect(json.data.usage).toEqual(miss.usage);
    const other = await iterate(c, toolTurn('9C and rain'));
    expect(status(other.headers)).toEqual(['MISS', null]);
    expect(calls()).toBe(2);
  });
});

const text = (t: string): OpenAI.Chat.Completions.ChatCompletionContentPart => ({ type: 'text', text: t });
const image = (bytes: string): OpenAI.Chat.Completions.ChatCompletionContentPart => ({
  type: 'image_url',
  image_url: { url: `data:image/png;base64,${Buffer.from(bytes).toString('base64')}` },
});
const withParts = (...parts: OpenAI.Chat.Completions.ChatCompletionContentPart[]): Body => ({ messages: [{ role: 'user', content: parts }] });

describe('images in the last user turn', () => {
  it('the same question about a different image is not a hit', async () => {
    const c = h.client();
    const cat = await chat(c, withParts(text('What animal is in this picture?'), image('a cat')));
    expect(status(cat.headers)).toEqual(['MISS', null]);
    const dog = await chat(c, withParts(text('What animal is in this picture?'), image('a dog')));
    expect(status(dog.headers)).toEqual(['MISS', null]);
    expect(calls()).toBe(2);
  });

  it('the same image in another place among the same text parts is not a hit', async () => {
    const c = h.client();
    const between = await chat(c, withParts(text('Describe this picture'), image('a cat'), text('in one word.')));
    expect(status(between.headers)).toEqual(['MISS', null]);
    const before = await chat(c, withParts(image('a cat'), text('Describe this picture'), text('in one word.')));
    expect(status(before.headers)).toEqual(['MISS', null]);
    const after = await chat(c, withParts(text('Describe this picture'), text('in one word.'), image('a cat')));
    expect(status(after.headers)).toEqual(['MISS', null]);
    expect(calls()).toBe(3);
  });

  it('the same image and the same text is an exact hit; the same image with a near twin of the text a semantic one', async () => {
    const c = h.client();
    const first = await chat(c, withParts(text('How many legs does a spider have?'), image('a spider')));
    const same = await chat(c, withParts(text('How many legs does a spider have?'), image('a spider')));
    expect(status(same.headers)).toEqual(['HIT', 'exact']);
    expect(same.data).toStrictEqual(first.data);
    const twin = await chat(c, withParts(text('  How many   legs does a spider have?'), image('a spider')));
    expect(status(twin.headers)).toEqual(['HIT', 'semantic']);
    expect(twin.data).toStrictEqual(first.data);
    expect(calls()).toBe(1);
  });
});

const AUTH: Array<[string, string]> = [
  ['Authorization', 'Bearer sk-test-a'],
  ['Content-Type', 'application/json'],
];

describe('usage on hits', () => {
  it('an exact hit returns the original body byte for byte, usage included, and says HIT only in its headers', async () => {
    const body = JSON.stringify({ model: MODEL, ...weather('What is the weather in Tokyo and Berlin?') });
    const miss = await exchange(h.reprise.url, 'POST', '/v1/chat/completions', AUTH, body);
    expect(miss.header('x-cache-status')).toBe('MISS');
    const original = JSON.parse(miss.text) as OpenAI.ChatCompletion;
    // the fake upstream's count: 10 completion tokens per call
    expect(original.usage).toMatchObject({ completion_tokens: 20, total_tokens: original.usage!.prompt_tokens + 20 });

    const hit = await exchange(h.reprise.url, 'POST', '/v1/chat/completions', AUTH, body);
    expect(hit.status).toBe(200);
    expect(hit.header('x-cache-status')).toBe('HIT');
    expect(hit.header('x-cache-match')).toBe('exact');
    expect(hit.text).toBe(miss.text);
    expect(JSON.parse(hit.text)).toStrictEqual(original);
    expect(hit.text).not.toMatch(/HIT|x-cache/);
    expect(calls()).toBe(1);
  });

  it('a semantic hit returns the original body, its id and usage included, and adds no field', async () => {
    const c = h.client();
    const first = await chat(c, ask('How do I reset my password?'));
    const reworded = await chat(c, ask('How can I reset my password?'));
    expect(status(reworded.headers)).toEqual(['HIT', 'semantic']);
    expect(reworded.data).toStrictEqual(first.data);
    expect(Object.keys(reworded.data).sort()).toEqual(Object.keys(first.data).sort());
    expect(reworded.data.usage).toEqual(first.data.usage);
    expect(calls()).toBe(1);
  });

  it('a tool-call answer stored from a stream is served as JSON with the stream\'s usage and no field beyond a completion\'s', async () => {
    const c = h.client();
    const miss = await iterate(c, weather('What is the weather in London and Rome?'), true);
    const hit = await chat(c, weather('What is the weather in London and Rome?'));
    expect(status(hit.headers)).toEqual(['HIT', 'exact']);
    expect(hit.data.usage).toEqual(miss.usage);
    expect(Object.keys(hit.data).sort()).toEqual(['choices', 'created', 'id', 'model', 'object', 'system_fingerprint', 'usage']);
    expect(Object.keys(hit.data.choices[0]!).sort()).toEqual(['finish_reason', 'index', 'logprobs', 'message']);
    expect(Object.keys(hit.data.choices[0]!.message).sort()).toEqual(['content', 'role', 'tool_calls']);
    expect(calls()).toBe(1);
  });
});
