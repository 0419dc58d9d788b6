/**
 * Anthropic's Messages API (`POST /v1/messages`) through Reprise, driven by the real `@anthropic-ai/sdk`: exact and
 * semantic hits, either form (JSON and SSE) from either form, tool use, what is in the scope (keys, images, API
 * version and betas), what is never stored, Reprise's own errors in Anthropic's shape, and the routes that pass
 * through to the Anthropic upstream.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, useHarness, type Harness } from '../helpers/harness.js';
import { exchange, type RawResponse } from '../helpers/raw-http.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';

const h = useHarness();

// ---------------------------------------------------------------------------
// helpers

const MODEL = 'claude-test';
/** A request body without the fields every call has the same. */
type Body = Omit<Anthropic.MessageCreateParamsNonStreaming, 'model' | 'max_tokens' | 'stream'> & { max_tokens?: number };
interface Via {
  client?: Anthropic;
  headers?: Record<string, string>;
}

const full = (b: Body) => ({ model: MODEL, max_tokens: 256, ...b });
/** A one-message conversation. */
const ask = (content: string | Anthropic.ContentBlockParam[], extra: Partial<Body> = {}): Body => ({ messages: [{ role: 'user', content }], ...extra });

/** The message as plain JSON: the SDK's own additions (`parsed_output`, lazy getters) left out. */
const plain = (m: unknown): Anthropic.Message =>
  JSON.parse(JSON.stringify(m, (k, v: unknown) => (k === 'parsed_output' ? undefined : v))) as Anthropic.Message;

/** messages.create without stream: the message and the response headers. */
async function create(b: Body, via: Via = {}) {
  const { data, response } = await (via.client ?? h.anthropic()).messages.create({ ...full(b), stream: false }, { headers: via.headers }).withResponse();
  return { data: plain(data), headers: response.headers };
}

/** messages.stream(): the message its finalMessage() builds, and the response headers. */
async function streamed(b: Body, via: Via = {}) {
  const stream = (via.client ?? h.anthropic()).messages.stream(full(b), { headers: via.headers });
  const { response } = await stream.withResponse();
  return { data: plain(await stream.finalMessage()), headers: response.headers };
}

/** messages.create with stream: true, iterated: every event, and the response headers. */
async function events(b: Body, via: Via = {}) {
  const { data: stream, response } = await (via.client ?? h.anthropic()).messages.create({ ...full(b), stream: true }, { headers: via.headers }).withResponse();
  const all: Anthropic.RawMessageStreamEvent[] = [];
  for await (const e of stream) all.push(e);
  return { events: all, headers: response.headers };
}

/** What the SDK rejected with. */
const failure = (p: Promise<unknown>) => p.then(() => expect.unreachable('the call should have failed'), (e: unknown) => e as InstanceType<typeof Anthropic.APIError>);

const textOf = (m: Anthropic.Message) => m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
const toolInputs = (m: Anthropic.Message) => m.content.flatMap((b) => (b.type === 'tool_use' ? [b.input] : []));

function expectMiss(headers: Headers) {
  expect(headers.get('x-cache-status')).toBe('MISS');
  expect(headers.get('x-cache-match')).toBeNull();
}
function expectExactHit(headers: Headers) {
  expect(headers.get('x-cache-status')).toBe('HIT');
  expect(headers.get('x-cache-match')).toBe('exact');
  expect(headers.get('x-cache-similarity')).toBe('1.0000');
}

/** A raw POST with `x-api-key` (the SDK sends its key as a bearer token instead); `headers` replace the defaults by name. */
function rawPost(body: unknown, headers: Record<string, string> = {}, path = '/v1/messages'): Promise<RawResponse> {
  const hs = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-ant-raw-a', ...headers };
  return exchange(h.reprise.url, 'POST', path, Object.entries(hs), typeof body === 'string' ? body : JSON.stringify(body));
}

/** The events of an SSE body, by name, with their data. */
function sseEvents(text: string): Array<{ event: string; data: { type: string; [k: string]: unknown } }> {
  return text
    .split('\n\n')
    .filter((chunk) => chunk.trim() !== '')
    .map((chunk) => {
      const lines = chunk.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length) ?? '';
      const data = lines.find((l) => l.startsWith('data: '))?.slice('data: '.length) ?? 'null';
      return { event, data: JSON.parse(data) as { type: string } };
    });
}

/** Reprise's own error in Anthropic's shape. */
function expectAnthropicError(r: RawResponse, status: number, type: string) {
  expect(r.status).toBe(status);
  expect(r.header('content-type')).toMatch(/^application\/json/);
  expect(JSON.parse(r.text)).toEqual({ type: 'error', error: { type, message: expect.any(String) } });
}

// Pairs the bundled embedder is known to match (hits.test.ts).
const PASSWORD = 'How do I reset my password?';
const PASSWORD_REWORDED = 'How can I reset my password?';

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const WEATHER = "What's the weather in Paris and Rome?";

/** A conversation whose last turn answers the assistant's tool call: `extra` blocks go after the tool_result. */
const afterTool = (result: string, extra: Anthropic.ContentBlockParam[] = []): Body => ({
  tools: [weatherTool],
  messages: [
    { role: 'user', content: "What's the weather in Paris?" },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: result }, ...extra] },
  ],
});

const image = (bytes: string): Anthropic.ImageBlockParam => ({
  type: 'image',
  source: { type: 'base64', media_type: 'image/png', data: Buffer.from(bytes).toString('base64') },
});

// ---------------------------------------------------------------------------

describe('hits', () => {
  it('a repeated question is a miss, then an exact hit equal to the original (usage included), with one upstream call', async () => {
    const first = await create(ask('What is the tallest mountain in Europe?'));
    expectMiss(first.headers);
    expect(textOf(first.data)).toMatch(/^Answer #\d+ to: What is the tallest mountain in Europe\?$/);
    const second = await create(ask('What is the tallest mountain in Europe?'));
    expectExactHit(second.headers);
    expect(second.headers.get('x-cache-id')).toMatch(/^[0-9a-f]{64}\./);
    expect(second.data).toEqual(first.data);
    expect(second.data.usage).toEqual(first.data.usage);
    expect(h.up.count('/messages')).toBe(1);
    // The miss went to the Anthropic upstream's /v1/messages, with the SDK's API version.
    expect(h.up.calls[0]).toMatchObject({ method: 'POST', path: '/v1/messages', headers: { 'anthropic-version': expect.any(String) } });
  });

  it('a reworded question is a semantic hit', async () => {
    const first = await create(ask(PASSWORD));
    expectMiss(first.headers);
    const reworded = await create(ask(PASSWORD_REWORDED));
    expect(reworded.headers.get('x-cache-status')).toBe('HIT');
    expect(reworded.headers.get('x-cache-match')).toBe('semantic');
    const sim = Number(reworded.headers.get('x-cache-similarity'));
    expect(sim).toBeGreaterThan(0.9);
    expect(sim).toBeLessThan(1);
    expect(reworded.data).toEqual(first.data);
    expect(h.up.count('/messages')).toBe(1);
  });

  it('an unrelated question is a miss', async () => {
    await create(ask('How do I bake sourdough bread?'));
    const other = await create(ask('What is the speed of light in a vacuum?'));
    expectMiss(other.headers);
    expect(h.up.count('/messages')).toBe(2);
  });
});

describe('streaming', () => {
  it('a stored JSON answer replays as a stream that messages.stream().finalMessage() accepts, equal to the original', async () => {
    const json = await create(ask('Why is the sky blue?'));
    expectMiss(json.headers);
    const replay = await streamed(ask('Why is the sky blue?'));
    expectExactHit(replay.headers);
    expect(replay.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(replay.data).toEqual(json.data);
    expect(h.up.count('/messages')).toBe(1);
  });

  it('a streamed miss is stored, and then served as JSON equal to the message the stream assembled', async () => {
    const miss = await streamed(ask('What do pandas eat?'));
    expectMiss(miss.headers);
    expect(miss.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // The stream's final usage (message_delta) replaced its start's placeholder.
    expect(textOf(miss.data)).toMatch(/^Answer #\d+ to: What do pandas eat\?$/);
    expect(miss.data.usage.output_tokens).toBe(textOf(miss.data).split(' ').length);
    const json = await create(ask('What do pandas eat?'));
    expectExactHit(json.headers);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(json.data).toEqual(miss.data);
    expect(h.up.count('/messages')).toBe(1);
  });

  it("the raw SSE of a replay is Anthropic's event sequence, each event named by its type", async () => {
    const body = full(ask('Name the largest ocean on Earth.'));
    const json = await rawPost(body);
    expect(json.header('x-cache-status')).toBe('MISS');
    const message = JSON.parse(json.text) as Anthropic.Message;

    const replay = await rawPost({ ...body, stream: true });
    expect(replay.status).toBe(200);
    expect(replay.header('x-cache-status')).toBe('HIT');
    expect(replay.header('content-type')).toMatch(/^text\/event-stream/);
    const evs = sseEvents(replay.text);
    for (const e of evs) expect(e.data.type).toBe(e.event);
    // One or more deltas per block, as the API sends them.
    const names = evs.map((e) => e.event).filter((n, i, all) => n !== 'content_block_delta' || all[i - 1] !== 'content_block_delta');
    expect(names).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(evs[0]!.data).toMatchObject({ message: { id: message.id, type: 'message', role: 'assistant', content: [], stop_reason: null } });
    const deltas = evs.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta as { type: string; text: string });
    expect(deltas.every((d) => d.type === 'text_delta')).toBe(true);
    expect(deltas.map((d) => d.text).join('')).toBe(textOf(message));
    expect(evs.at(-2)!.data).toMatchObject({ delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: message.usage.output_tokens } });
    expect(h.up.count('/messages')).toBe(1);
  });

  it('a replay through messages.create({stream: true}) yields the same events as the SDK iterates them', async () => {
    const json = await create(ask('Name a primary colour.'));
    const { events: evs, headers } = await events(ask('Name a primary colour.'));
    expectExactHit(headers);
    expect(evs[0]).toMatchObject({ type: 'message_start', message: { id: json.data.id } });
    expect(evs.at(-1)!.type).toBe('message_stop');
    const text = evs.map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : '')).join('');
    expect(text).toBe(textOf(json.data));
    expect(h.up.count('/messages')).toBe(1);
  });

  it('a thinking block replays as a stream with its thinking and signature', async () => {
    const b = ask('Think about the number seven.', { max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 1024 } });
    const json = await create(b);
    expect(json.data.content[0]).toEqual({ type: 'thinking', thinking: 'Let me think about that.', signature: json.data.id.replace('msg_', 'sig_') });
    const replay = await streamed(b);
    expectExactHit(replay.headers);
    expect(replay.data).toEqual(json.data);
  });
});

describe('tool use', () => {
  it('two parallel tool_use blocks replay exactly as JSON and as a stream', async () => {
    const first = await create(ask(WEATHER, { tools: [weatherTool] }));
    expectMiss(first.headers);
    expect(first.data.stop_reason).toBe('tool_use');
    expect(first.data.content.map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
    expect(toolInputs(first.data)).toEqual([{ city: 'Paris' }, { city: 'Rome' }]);

    const json = await create(ask(WEATHER, { tools: [weatherTool] }));
    expectExactHit(json.headers);
    expect(json.data).toEqual(first.data);

    const stream = await streamed(ask(WEATHER, { tools: [weatherTool] }));
    expectExactHit(stream.headers);
    expect(stream.data).toEqual(first.data);
    expect(toolInputs(stream.data)).toEqual([{ city: 'Paris' }, { city: 'Rome' }]);
    expect(h.up.count('/messages')).toBe(1);
  });

  it('a streamed tool_use miss (input_json_delta fragments) is reassembled: the JSON hit has the right inputs', async () => {
    const miss = await events(ask(WEATHER, { tools: [weatherTool] }));
    expectMiss(miss.headers);
    const fragments = (index: number) =>
      miss.events.flatMap((e) => (e.type === 'content_block_delta' && e.index === index && e.delta.type === 'input_json_delta' ? [e.delta.partial_json] : []));
    // The upstream sent each input in pieces: the reassembly had real work to do.
    expect(fragments(1)).toEqual(['', '{"', 'city', '":"', 'Paris', '"}']);
    expect(fragments(2).join('')).toBe('{"city":"Rome"}');

    const k = miss.events[0]!.type === 'message_start' ? miss.events[0]!.message.id.replace('msg_fake_', '') : '?';
    const json = await create(ask(WEATHER, { tools: [weatherTool] }));
    expectExactHit(json.headers);
    expect(json.data.id).toBe(`msg_fake_${k}`);
    expect(json.data.content).toEqual([
      { type: 'text', text: "I'll check the weather." },
      { type: 'tool_use', id: `toolu_fake_${k}_0`, name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: `toolu_fake_${k}_1`, name: 'get_weather', input: { city: 'Rome' } },
    ]);
    expect(json.data.stop_reason).toBe('tool_use');
    expect(h.up.count('/messages')).toBe(1);
  });

  it('the same conversation with a different tool result is not a hit: two upstream calls, two answers', async () => {
    const sunny = await create(afterTool('18°C and sunny'));
    const rainy = await create(afterTool('9°C and raining'));
    expectMiss(sunny.headers);
    expectMiss(rainy.headers);
    expect(textOf(sunny.data)).toBe('Tool said: 18°C and sunny');
    expect(textOf(rainy.data)).toBe('Tool said: 9°C and raining');
    expect(h.up.count('/messages')).toBe(2);
  });

  it('a conversation ending in a tool_result hits only exactly: an identical repeat hits, reworded text beside the result does not', async () => {
    // The same pair of questions is a semantic hit on its own ("hits" above); beside a tool result it must not be.
    const first = await create(afterTool('18°C and sunny', [{ type: 'text', text: PASSWORD }]));
    expectMiss(first.headers);
    const again = await create(afterTool('18°C and sunny', [{ type: 'text', text: PASSWORD }]));
    expectExactHit(again.headers);
    expect(again.data).toEqual(first.data);
    const reworded = await create(afterTool('18°C and sunny', [{ type: 'text', text: PASSWORD_REWORDED }]));
    expectMiss(reworded.headers);
    expect(h.up.count('/messages')).toBe(2);
  });
});

describe('images', () => {
  it('the same text with a different image is a miss', async () => {
    const a = await create(ask([image('picture of a cat'), { type: 'text', text: 'What is in this picture?' }]));
    const b = await create(ask([image('picture of a dog'), { type: 'text', text: 'What is in this picture?' }]));
    expectMiss(a.headers);
    expectMiss(b.headers);
    expect(h.up.count('/messages')).toBe(2);
  });

  it('the same image and the same text is an exact hit', async () => {
    const a = await create(ask([image('picture of a cat'), { type: 'text', text: 'What is in this picture?' }]));
    const b = await create(ask([image('picture of a cat'), { type: 'text', text: 'What is in this picture?' }]));
    expectExactHit(b.headers);
    expect(b.data).toEqual(a.data);
    expect(h.up.count('/messages')).toBe(1);
  });

  it('only the text is embedded: the same image with reworded text is a semantic hit', async () => {
    await create(ask([image('screenshot of a login page'), { type: 'text', text: PASSWORD }]));
    const b = await create(ask([image('screenshot of a login page'), { type: 'text', text: PASSWORD_REWORDED }]));
    expect(b.headers.get('x-cache-status')).toBe('HIT');
    expect(b.headers.get('x-cache-match')).toBe('semantic');
    expect(h.up.count('/messages')).toBe(1);
  });
});

describe('scope', () => {
  it('different SDK API keys never share an entry', async () => {
    const a = await create(ask('What is the capital of Norway?'), { client: h.anthropic('sk-ant-key-a') });
    const b = await create(ask('What is the capital of Norway?'), { client: h.anthropic('sk-ant-key-b') });
    expectMiss(a.headers);
    expectMiss(b.headers);
    // Each key's own entry is there.
    expectExactHit((await create(ask('What is the capital of Norway?'), { client: h.anthropic('sk-ant-key-a') })).headers);
    expect(h.up.count('/messages')).toBe(2);
    expect(h.up.calls.map((c) => c.headers.authorization)).toEqual(['Bearer sk-ant-key-a', 'Bearer sk-ant-key-b']);
  });

  it('raw requests with different x-api-key headers never share an entry', async () => {
    const body = full(ask('What is the capital of Norway?'));
    expect((await rawPost(body, { 'x-api-key': 'sk-ant-raw-a' })).header('x-cache-status')).toBe('MISS');
    expect((await rawPost(body, { 'x-api-key': 'sk-ant-raw-b' })).header('x-cache-status')).toBe('MISS');
    const again = await rawPost(body, { 'x-api-key': 'sk-ant-raw-a' });
    expect(again.header('x-cache-status')).toBe('HIT');
    expect(again.header('x-cache-match')).toBe('exact');
    expect(h.up.count('/messages')).toBe(2);
    expect(h.up.calls.map((c) => c.headers['x-api-key'])).toEqual(['sk-ant-raw-a', 'sk-ant-raw-b']);
  });

  it('one key is one tenant whether it comes as a bearer token (the SDK) or as x-api-key', async () => {
    const sdk = await create(ask('What is the capital of Norway?'), { client: h.anthropic('sk-ant-same') });
    expectMiss(sdk.headers);
    // The same API version as the SDK's, so that only the credential's header differs.
    const version = String(h.up.calls[0]!.headers['anthropic-version']);
    const raw = await rawPost(full(ask('What is the capital of Norway?')), { 'x-api-key': 'sk-ant-same', 'anthropic-version': version });
    expect(raw.header('x-cache-status')).toBe('HIT');
    expect(JSON.parse(raw.text)).toEqual(sdk.data);
    expect(h.up.count('/messages')).toBe(1);
  });

  it('anthropic-version is in the scope: another version is a miss, the same one a hit', async () => {
    await create(ask('How many moons does Mars have?'));
    const other = await create(ask('How many moons does Mars have?'), { headers: { 'anthropic-version': '2024-10-22' } });
    expectMiss(other.headers);
    expect(h.up.calls[1]!.headers['anthropic-version']).toBe('2024-10-22');
    expectExactHit((await create(ask('How many moons does Mars have?'), { headers: { 'anthropic-version': '2024-10-22' } })).headers);
    expect(h.up.count('/messages')).toBe(2);
  });

  it('anthropic-beta is in the scope: none, one beta and another are three entries', async () => {
    await create(ask('How many moons does Mars have?'));
    const beta = await create(ask('How many moons does Mars have?'), { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } });
    expectMiss(beta.headers);
    const other = await create(ask('How many moons does Mars have?'), { headers: { 'anthropic-beta': 'token-efficient-tools-2025-02-19' } });
    expectMiss(other.headers);
    expectExactHit((await create(ask('How many moons does Mars have?'), { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } })).headers);
    expect(h.up.count('/messages')).toBe(3);
    expect(h.up.calls[1]!.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
  });

  it('a beta the client lists in Connection never reaches upstream, so it keys nothing', async () => {
    const body = { model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'How many moons does Jupiter have?' }] };
    expect((await rawPost(body)).header('x-cache-status')).toBe('MISS');
    // Hop-by-hop by the client's own say-so: the upstream answered without the beta, so this is the same question.
    const listed = await rawPost(body, { 'anthropic-beta': 'prompt-caching-2024-07-31', connection: 'anthropic-beta' });
    expect([listed.header('x-cache-status'), listed.header('x-cache-match')]).toEqual(['HIT', 'exact']);
    expect(h.up.count('/messages')).toBe(1);
  });
});

describe('what is stored', () => {
  it.each(['pause_turn', 'refusal'])('stop_reason %s is not stored', async (stopReason) => {
    h.up.next({ stopReason });
    const first = await create(ask(`A question answered with ${stopReason}`));
    expectMiss(first.headers);
    expect(first.data.stop_reason).toBe(stopReason);
    expect(h.reprise.store.size()).toBe(0);
    const again = await create(ask(`A question answered with ${stopReason}`));
    expectMiss(again.headers);
    expect(again.data.stop_reason).toBe('end_turn');
    expect(h.up.count('/messages')).toBe(2);
  });

  it.each([
    ['max_tokens', null],
    ['stop_sequence', 'END'],
  ])('stop_reason %s is stored', async (stopReason, stopSequence) => {
    h.up.next({ stopReason });
    const b = ask(`A question answered with ${stopReason}`, { stop_sequences: ['END'] });
    const first = await create(b);
    expect([first.data.stop_reason, first.data.stop_sequence]).toEqual([stopReason, stopSequence]);
    const again = await create(b);
    expectExactHit(again.headers);
    expect(again.data).toEqual(first.data);
    expect(h.up.count('/messages')).toBe(1);
  });

  it('a stream that ends without message_stop is not stored', async () => {
    h.up.next({ omitDone: true });
    await expect(streamed(ask('List three prime numbers.'))).rejects.toThrow();
    expect(h.reprise.store.size()).toBe(0);
    const again = await streamed(ask('List three prime numbers.'));
    expectMiss(again.headers);
    expect(h.up.count('/messages')).toBe(2);
  });

  // Mid-answer, and after message_delta in message_stop's place (the message looks whole by then).
  it.each([2, 1000])('a stream with an error event after %i deltas is not stored; the SDK sees the error', async (after) => {
    h.up.next({ errorEventAfter: after });
    const err = await failure(streamed(ask('Explain photosynthesis in detail.')));
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.type).toBe('overloaded_error');
    expect(h.reprise.store.size()).toBe(0);
    const again = await streamed(ask('Explain photosynthesis in detail.'));
    expectMiss(again.headers);
    expect(h.up.count('/messages')).toBe(2);
  });

  it.each([
    [529, 'overloaded_error'],
    [500, 'api_error'],
  ])('an upstream %i reaches the SDK as an APIError of type %s and is not stored', async (status, type) => {
    h.up.next({ status });
    const err = await failure(create(ask(`A question that fails with ${status}`)));
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    expect(err.status).toBe(status);
    expect(err.type).toBe(type);
    expect(err.error).toMatchObject({ type: 'error', error: { type } });
    expect(err.headers?.get('x-cache-status')).toBe('MISS');
    expect(h.reprise.store.size()).toBe(0);
    const again = await create(ask(`A question that fails with ${status}`));
    expectMiss(again.headers);
    expect(h.up.count('/messages')).toBe(2);
  });

  it('Cache-Control: no-store is neither stored nor served', async () => {
    const first = await create(ask('What is the boiling point of water?'), { headers: { 'cache-control': 'no-store' } });
    expect(first.headers.get('x-cache-status')).toBe('BYPASS');
    expect(first.headers.get('x-cache-reason')).toBe('no-store');
    expect(h.reprise.store.size()).toBe(0);
    expectMiss((await create(ask('What is the boiling point of water?'))).headers);
    // Now that there is an entry, no-store still goes upstream.
    const again = await create(ask('What is the boiling point of water?'), { headers: { 'cache-control': 'no-store' } });
    expect(again.headers.get('x-cache-status')).toBe('BYPASS');
    expect(h.up.count('/messages')).toBe(3);
  });
});

describe("Reprise's own errors", () => {
  it("an invalid JSON body is a 400 in Anthropic's shape", async () => {
    expectAnthropicError(await rawPost('{"model": "claude-test", "messages": ['), 400, 'invalid_request_error');
    expect(h.up.count()).toBe(0);
  });

  it("a body without max_tokens is a 400 in Anthropic's shape; the SDK raises BadRequestError", async () => {
    const noMax = { model: MODEL, messages: [{ role: 'user', content: 'hi' }] };
    expectAnthropicError(await rawPost(noMax), 400, 'invalid_request_error');
    const err = await failure(h.anthropic().messages.create(noMax as unknown as Anthropic.MessageCreateParamsNonStreaming));
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.status).toBe(400);
    expect(err.type).toBe('invalid_request_error');
    expect(err.error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.any(String) } });
    expect(h.up.count()).toBe(0);
  });

  it("an invalid x-cache-threshold is a 400 in Anthropic's shape", async () => {
    const raw = await rawPost(full(ask('hi')), { 'x-cache-threshold': '2' });
    expectAnthropicError(raw, 400, 'invalid_request_error');
    expect(JSON.parse(raw.text).error.message).toMatch(/x-cache-threshold/);
    const err = await failure(create(ask('hi'), { headers: { 'x-cache-threshold': 'high' } }));
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.type).toBe('invalid_request_error');
    expect(h.up.count()).toBe(0);
  });

  it("the OpenAI route keeps OpenAI's shape", async () => {
    const bad = await exchange(h.reprise.url, 'POST', '/v1/chat/completions', [['authorization', 'Bearer sk-x'], ['content-type', 'application/json']], '{"model": "gpt-4o", "messages": [');
    expect(bad.status).toBe(400);
    const body = JSON.parse(bad.text) as { type?: string; error: { type: string; message: string } };
    expect(body.type).toBeUndefined();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', message: expect.any(String) });
    expect(h.up.count()).toBe(0);
  });
});

describe('pass-through to the Anthropic upstream', () => {
  it('POST /v1/messages/count_tokens goes upstream every time (BYPASS)', async () => {
    const client = h.anthropic();
    for (let i = 1; i <= 2; i++) {
      const { data, response } = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
      expect(data).toEqual({ input_tokens: 5 });
      expect(response.headers.get('x-cache-status')).toBe('BYPASS');
      expect(response.headers.get('x-cache-reason')).toBe('not-cacheable-route');
      expect(h.up.count('/v1/messages/count_tokens')).toBe(i);
    }
    expect(h.reprise.store.size()).toBe(0);
  });

  it('GET /v1/models with an anthropic-version header goes to the Anthropic upstream', async () => {
    const { data: page, response } = await h.anthropic().models.list().withResponse();
    expect(response.headers.get('x-cache-status')).toBe('BYPASS');
    expect(page.data.map((m) => m.id)).toEqual(['fake-model']);
    expect(h.up.calls).toHaveLength(1);
    expect(h.up.calls[0]).toMatchObject({ method: 'GET', path: '/v1/models', headers: { 'anthropic-version': expect.any(String) } });
  });
});

describe('with an Anthropic upstream of its own', () => {
  // Here the two upstreams differ, so where each request went is plain.
  let own: Harness;
  let anthropicUp: FakeUpstream;
  beforeAll(async () => {
    anthropicUp = await startFakeUpstream();
    own = await startHarness({ 'anthropic-upstream': anthropicUp.url });
  });
  afterAll(async () => {
    await own?.close();
    await anthropicUp?.close();
  });
  beforeEach(() => {
    own.up.reset();
    anthropicUp.reset();
  });

  it('/v1/messages, count_tokens, and /v1/models with anthropic-version go there; /v1/models without it goes to OpenAI', async () => {
    const client = own.anthropic();
    await client.messages.create({ ...full(ask('Where do I go?')), stream: false });
    await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    await client.models.list();
    expect(anthropicUp.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /v1/messages', 'POST /v1/messages/count_tokens', 'GET /v1/models']);
    expect(own.up.calls).toHaveLength(0);

    await own.client().models.list();
    expect(own.up.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /v1/models']);
    expect(anthropicUp.calls).toHaveLength(3);
  });
});
