/**
 * The Responses API (`POST /v1/responses`) through Reprise, with the real `openai` SDK: misses, exact and semantic
 * hits, typed-event replays the SDK's stream helper accepts, the requests that must bypass the cache, tool calls,
 * tool results and images in the scope, and the answers that must never be stored.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/harness.js';
import { exchange } from '../helpers/raw-http.js';
import { keepingHeaders } from '../helpers/sse-events.js';

const h = useHarness();

const TOOLS: OpenAI.Responses.FunctionTool[] = [
  { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false },
];
type Params = Omit<OpenAI.Responses.ResponseCreateParamsNonStreaming, 'model' | 'stream'> & { model?: string };

/** A non-streamed call: the response as the SDK parsed it, and the headers. */
async function create(client: OpenAI, params: Params, headers?: Record<string, string>) {
  const { data, response } = await client.responses.create({ model: 'gpt-4o-mini', ...params, stream: false }, { headers }).withResponse();
  return { data, headers: response.headers };
}

/**
 * A streamed call through the SDK's helper: its final response, the event types in order, and the headers (the
 * helper does not hand out its response, so a client of the same key whose fetch keeps them makes the call).
 */
async function streamed(client: OpenAI, params: Params) {
  const keeping = keepingHeaders(client);
  const stream = keeping.client.responses.stream({ model: 'gpt-4o-mini', ...params });
  const types: string[] = [];
  const seq: number[] = [];
  stream.on('event', (e) => {
    types.push(e.type);
    seq.push(e.sequence_number);
  });
  const final = await stream.finalResponse();
  return { final, types, seq, headers: keeping.headers() };
}

/** The SDK adds these client-side; the wire carries neither. */
function wire(r: unknown): unknown {
  return JSON.parse(JSON.stringify(r, (k, v: unknown) => (['output_text', 'output_parsed', 'parsed', 'parsed_arguments'].includes(k) ? undefined : v)));
}

const status = (headers: Headers) => [headers.get('x-cache-status'), headers.get('x-cache-match')];
const calls = () => h.up.count('/responses');

describe('the Responses API: misses and hits', () => {
  it('a repeated question is an exact hit that returns the original response, its id and its usage', async () => {
    const c = h.client();
    const first = await create(c, { input: 'What is the tallest mountain in Europe?' });
    expect(status(first.headers)).toEqual(['MISS', null]);
    const again = await create(c, { input: 'What is the tallest mountain in Europe?' });
    expect(status(again.headers)).toEqual(['HIT', 'exact']);
    expect(again.data).toEqual(first.data);
    expect(again.data.id).toBe(first.data.id);
    expect(again.data.usage).toEqual(first.data.usage);
    expect(calls()).toBe(1);
  });

  it('a reworded question is a semantic hit; input items and a plain string key the same text alike only within their own form', async () => {
    const c = h.client();
    const first = await create(c, { input: [{ role: 'user', content: [{ type: 'input_text', text: 'How do I reset my password?' }] }] });
    const reworded = await create(c, { input: [{ role: 'user', content: [{ type: 'input_text', text: 'How can I reset my password?' }] }] });
    expect(status(reworded.headers)).toEqual(['HIT', 'semantic']);
    expect(reworded.data.output_text).toBe(first.data.output_text);
    expect(calls()).toBe(1);
    // The string form is another body upstream: it is its own scope.
    const asString = await create(c, { input: 'How do I reset my password?' });
    expect(asString.headers.get('x-cache-status')).toBe('MISS');
    expect(calls()).toBe(2);
  });

  it('instructions, tools, text.format and reasoning are in the scope', async () => {
    const c = h.client();
    const q = 'Name a primary colour.';
    await create(c, { input: q, instructions: 'Answer in English.' });
    const variants: Params[] = [
      { input: q, instructions: 'Answer in French.' },
      { input: q, instructions: 'Answer in English.', text: { format: { type: 'json_object' } } },
      { input: q, instructions: 'Answer in English.', reasoning: { effort: 'high' } },
      { input: q, instructions: 'Answer in English.', tools: TOOLS },
      { input: q, instructions: 'Answer in English.', max_output_tokens: 16 },
    ];
    for (const v of variants) expect((await create(c, v)).headers.get('x-cache-status')).toBe('MISS');
    expect(calls()).toBe(1 + variants.length);
    expect((await create(c, { input: q, instructions: 'Answer in English.' })).headers.get('x-cache-match')).toBe('exact');
  });

  it('different API keys never share an answer', async () => {
    await create(h.client('sk-one'), { input: 'Which planet is largest?' });
    const other = await create(h.client('sk-two'), { input: 'Which planet is largest?' });
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    expect(calls()).toBe(2);
  });
});

describe('the Responses API: streams', () => {
  it('a JSON-stored answer replays as the typed events in order, and the SDK helper assembles the original', async () => {
    const c = h.client();
    const first = await create(c, { input: 'Why is the sky blue?' });
    const replay = await streamed(c, { input: 'Why is the sky blue?' });
    expect(status(replay.headers)).toEqual(['HIT', 'exact']);
    expect(replay.types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(replay.seq).toEqual(replay.types.map((_, i) => i));
    expect(wire(replay.final)).toEqual(wire(first.data));
    expect(replay.final.output_text).toBe(first.data.output_text);
    expect(calls()).toBe(1);
  });

  it('a streamed miss is stored from its terminal event and served as JSON equal to what the stream assembled', async () => {
    const c = h.client();
    const miss = await streamed(c, { input: 'How far away is the Moon?' });
    expect(miss.headers.get('x-cache-status')).toBe('MISS');
    const hit = await create(c, { input: 'How far away is the Moon?' });
    expect(status(hit.headers)).toEqual(['HIT', 'exact']);
    expect(wire(hit.data)).toEqual(wire(miss.final));
    expect(calls()).toBe(1);
  });

  it('a stream without its terminal event, with an error event, or cut off is never stored', async () => {
    const c = h.client();
    const q = 'What is the boiling point of water?';
    // Without response.completed the SDK helper has no final response to give: only the upstream bytes matter here.
    h.up.next({ omitDone: true });
    await drain(await c.responses.create({ model: 'gpt-4o-mini', input: q, stream: true }));
    h.up.next({ errorEventAfter: 2 });
    await drain(await c.responses.create({ model: 'gpt-4o-mini', input: q, stream: true }));
    h.up.next({ breakAfterChunks: 2 });
    await expect(drain(await c.responses.create({ model: 'gpt-4o-mini', input: q, stream: true }))).rejects.toThrow();
    const after = await create(c, { input: q });
    expect(after.headers.get('x-cache-status')).toBe('MISS');
    expect(calls()).toBe(4);
  });
});

async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of stream) n++;
  return n;
}

describe('the Responses API: what never comes from the cache', () => {
  it.each([
    ['previous_response_id', { previous_response_id: 'resp_earlier' }, 'previous-response-id'],
    ['conversation', { conversation: 'conv_123' }, 'conversation'],
    ['background', { background: true }, 'background'],
    ['an unversioned stored prompt', { prompt: { id: 'pmpt_1' } }, 'prompt-unversioned'],
    ['a remote MCP tool', { tools: [{ type: 'mcp', server_label: 'docs', server_url: 'https://mcp.example.com', require_approval: 'never' }] }, 'mcp'],
  ] as const)('%s: passed through with BYPASS and a reason, twice upstream, nothing stored', async (_name, extra, reason) => {
    const c = h.client();
    for (let i = 0; i < 2; i++) {
      const r = await create(c, { input: 'Summarise our chat so far.', ...extra } as Params);
      expect([r.headers.get('x-cache-status'), r.headers.get('x-cache-reason')]).toEqual(['BYPASS', reason]);
    }
    expect(calls()).toBe(2);
    expect(h.reprise.store.size()).toBe(0);
  });

  it('store: true (the default) is cached, and store: false is its own scope', async () => {
    const c = h.client();
    await create(c, { input: 'What is 2 + 2?', store: true });
    expect((await create(c, { input: 'What is 2 + 2?', store: true })).headers.get('x-cache-status')).toBe('HIT');
    expect((await create(c, { input: 'What is 2 + 2?', store: false })).headers.get('x-cache-status')).toBe('MISS');
    expect(calls()).toBe(2);
  });

  it('GET /v1/responses/{id} of a served answer goes upstream, which holds the original', async () => {
    const c = h.client();
    const first = await create(c, { input: 'Define entropy.' });
    await create(c, { input: 'Define entropy.' });
    const got = await exchange(h.reprise.url, 'GET', `/v1/responses/${first.data.id}`, [['Authorization', 'Bearer sk-test-a']]);
    expect(got.header('x-cache-status')).toBe('BYPASS');
    expect(h.up.calls.at(-1)).toMatchObject({ method: 'GET', path: `/v1/responses/${first.data.id}` });
  });

  it.each([
    ['failed', { responseStatus: 'failed' as const }],
    ['cancelled', { responseStatus: 'cancelled' as const }],
    ['in progress', { responseStatus: 'in_progress' as const }],
    ['an upstream error', { status: 500 }],
  ])('a %s answer is not stored', async (_name, behaviour) => {
    const c = h.client();
    h.up.next(behaviour);
    await create(c, { input: 'Tell me a fact about owls.' }).catch((e: unknown) => expect(e).toBeInstanceOf(OpenAI.APIError));
    const again = await create(c, { input: 'Tell me a fact about owls.' });
    expect(again.headers.get('x-cache-status')).toBe('MISS');
    expect(calls()).toBe(2);
  });

  it('an answer cut at max_output_tokens is stored (the limit is in the scope), one cut by anything else is not', async () => {
    const c = h.client();
    h.up.next({ responseStatus: 'incomplete' });
    const cut = await create(c, { input: 'Write a long poem.', max_output_tokens: 16 });
    expect(cut.data.status).toBe('incomplete');
    const again = await create(c, { input: 'Write a long poem.', max_output_tokens: 16 });
    expect(status(again.headers)).toEqual(['HIT', 'exact']);
    expect(again.data.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(calls()).toBe(1);
  });
});

describe('the Responses API: tool calls, tool results and images', () => {
  it('parallel function calls replay exactly, as JSON and as a stream', async () => {
    const c = h.client();
    const q = "What's the weather in Paris and Rome?";
    const first = await create(c, { input: q, tools: TOOLS });
    const fc = first.data.output.filter((o) => o.type === 'function_call');
    expect(fc.map((o) => JSON.parse(o.arguments) as unknown)).toEqual([{ city: 'Paris' }, { city: 'Rome' }]);
    const json = await create(c, { input: q, tools: TOOLS });
    expect(status(json.headers)).toEqual(['HIT', 'exact']);
    expect(json.data).toEqual(first.data);
    const stream = await streamed(c, { input: q, tools: TOOLS });
    expect(stream.headers.get('x-cache-status')).toBe('HIT');
    expect(stream.types.filter((t) => t === 'response.function_call_arguments.delta')).toHaveLength(2);
    expect(wire(stream.final)).toEqual(wire(first.data));
    expect(calls()).toBe(1);
  });

  it('a streamed tool call is reassembled from its argument deltas', async () => {
    const c = h.client();
    const q = "What's the weather in Tokyo?";
    const miss = await streamed(c, { input: q, tools: TOOLS });
    expect(miss.types.filter((t) => t === 'response.function_call_arguments.delta').length).toBeGreaterThan(1);
    const hit = await create(c, { input: q, tools: TOOLS });
    expect(hit.headers.get('x-cache-status')).toBe('HIT');
    const call = hit.data.output.find((o) => o.type === 'function_call');
    expect(call && JSON.parse(call.arguments)).toEqual({ city: 'Tokyo' });
    expect(wire(hit.data)).toEqual(wire(miss.final));
  });

  it('a different tool result never hits, and a turn ending in a tool result is exact only', async () => {
    const c = h.client();
    const history = (output: string): OpenAI.Responses.ResponseInput => [
      { role: 'user', content: "What's the weather in Paris?" },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output },
    ];
    const sunny = await create(c, { input: history('sunny, 24 C'), tools: TOOLS });
    const rainy = await create(c, { input: history('rain, 12 C'), tools: TOOLS });
    expect(rainy.headers.get('x-cache-status')).toBe('MISS');
    expect(rainy.data.output_text).not.toBe(sunny.data.output_text);
    expect(rainy.data.output_text).toContain('rain, 12 C');
    // A result that reads alike is still another result: no semantic match after a tool turn.
    const similar = await create(c, { input: history('sunny, 24 C.'), tools: TOOLS });
    expect(similar.headers.get('x-cache-status')).toBe('MISS');
    const same = await create(c, { input: history('sunny, 24 C'), tools: TOOLS });
    expect(status(same.headers)).toEqual(['HIT', 'exact']);
    expect(calls()).toBe(3);
  });

  it('images are keyed by content and position; only the text is matched', async () => {
    const c = h.client();
    const img = (bytes: string) => ({ type: 'input_image' as const, detail: 'auto' as const, image_url: `data:image/png;base64,${Buffer.from(bytes).toString('base64')}` });
    const ask = (text: string, parts: Array<ReturnType<typeof img>>, textFirst = true): Params => ({
      input: [{ role: 'user', content: textFirst ? [{ type: 'input_text', text }, ...parts] : [...parts, { type: 'input_text', text }] }],
    });
    await create(c, ask('What animal is in this picture?', [img('a cat')]));
    expect((await create(c, ask('What animal is in this picture?', [img('a dog')]))).headers.get('x-cache-status')).toBe('MISS');
    expect((await create(c, ask('What animal is in this picture?', [img('a cat')], false))).headers.get('x-cache-status')).toBe('MISS');
    const same = await create(c, ask('What animal is in this picture?', [img('a cat')]));
    expect(status(same.headers)).toEqual(['HIT', 'exact']);
    // Typed differently, same image: a semantic match on the text alone. (The default verifier doubts rewordings of
    // a question this short, "which animal" for "what animal": that is its precision-first trade, README "Verification".)
    const reworded = await create(c, ask('what animal is in this picture', [img('a cat')]));
    expect(status(reworded.headers)).toEqual(['HIT', 'semantic']);
    expect(calls()).toBe(3);
  });
});

describe('the Responses API: bad input', () => {
  it('a malformed body gets an OpenAI-style 400 naming the parameter, and nothing goes upstream', async () => {
    const bad = await exchange(h.reprise.url, 'POST', '/v1/responses', [['Authorization', 'Bearer sk-test-a'], ['Content-Type', 'application/json']], JSON.stringify({ model: 'gpt-4o-mini', input: 42 }));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ error: { type: 'invalid_request_error', param: 'input' } });
    expect(calls()).toBe(0);
  });
});
