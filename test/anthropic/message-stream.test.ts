/**
 * Anthropic's Messages events both ways (src/anthropic/message-stream.ts) and its wire (src/anthropic/messages.ts):
 * a stored message replays as events that the SSE parser, Reprise's own assembly and the real `@anthropic-ai/sdk`
 * stream helper all fold back into it; the assembly refuses any stream that is not one clean message; which stop
 * reasons are storable; and where the query text is (messagesSplit through buildKey).
 */
import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildKey, type CacheKey, type KeyContext } from '../../src/cache/key.js';
import { MessageAssembly, messageToEvents } from '../../src/anthropic/message-stream.js';
import { isCompleteMessage, MESSAGES, messagesSplit, type ContentBlock, type Message } from '../../src/anthropic/messages.js';
import { InvalidRequestError } from '../../src/openai/errors.js';
import { parseSse, startSseServer, type ParsedEvent, type SseServer } from '../helpers/sse-events.js';
import { runs, text } from '../fuzz/arbitraries.js';

// ---------------------------------------------------------------------------
// representative messages

const USAGE = { input_tokens: 412, cache_creation_input_tokens: 0, cache_read_input_tokens: 128, output_tokens: 96, service_tier: 'standard' };

/** A message with the fields the API sends, as it sends them. */
function message(id: string, content: ContentBlock[], extra: Partial<Message> = {}): Message {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content,
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: USAGE,
    ...extra,
  };
}

const CITATIONS = message('msg_cite', [
  {
    type: 'text',
    text: 'The grass is green. Héllo 日本 🎉\n"quoted" \\ back',
    citations: [
      { type: 'char_location', cited_text: 'The grass is green.', document_index: 0, document_title: 'Nature facts', start_char_index: 0, end_char_index: 20 },
      { type: 'page_location', cited_text: 'The sky is blue.', document_index: 1, document_title: null, start_page_number: 2, end_page_number: 3 },
    ],
  },
  { type: 'text', text: ' And no citation here.', citations: null },
]);

const PARALLEL_TOOLS = message(
  'msg_tools',
  [
    { type: 'text', text: "I'll check both.", citations: null },
    { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris', units: { temp: 'C', list: [1, 2.5, -3e-7, { deep: [null, true, 'ü"\\'] }] } } },
    { type: 'tool_use', id: 'toolu_02', name: 'get_time', input: {} },
    { type: 'tool_use', id: 'toolu_03', name: 'get_weather', input: { city: 'Rome' } },
  ],
  { stop_reason: 'tool_use' },
);

const THINKING = message(
  'msg_think',
  [
    { type: 'thinking', thinking: 'Let me work through this.\n\n7 is prime because…', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' },
    { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw' },
    { type: 'text', text: '7 is prime.', citations: null },
  ],
  { stop_reason: 'max_tokens' },
);

const SERVER_TOOL = message(
  'msg_search',
  [
    { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: { query: 'weather in Paris today' } },
    {
      type: 'web_search_tool_result',
      tool_use_id: 'srvtoolu_01',
      content: [{ type: 'web_search_result', title: 'Paris weather', url: 'https://weather.example/paris', encrypted_content: 'Eo8BCioIAhgB', page_age: null }],
    },
    {
      type: 'text',
      text: 'It is sunny in Paris.',
      citations: [{ type: 'web_search_result_location', url: 'https://weather.example/paris', title: 'Paris weather', encrypted_index: 'EpMBCioIAhgB', cited_text: 'Sunny, 18C' }],
    },
  ],
  { usage: { ...USAGE, server_tool_use: { web_search_requests: 1 } } },
);

const STOP_SEQUENCE = message('msg_stop', [{ type: 'text', text: 'one, two, ', citations: null }], { stop_reason: 'stop_sequence', stop_sequence: 'three' });

const REPRESENTATIVE: Array<[string, Message]> = [
  ['text with citations', CITATIONS],
  ['parallel tool_use with nested inputs and an empty input {}', PARALLEL_TOOLS],
  ['thinking with its signature, and redacted_thinking', THINKING],
  ['server_tool_use and its result, then cited text', SERVER_TOOL],
  ['a stop sequence', STOP_SEQUENCE],
];

// ---------------------------------------------------------------------------
// helpers

type Parsed = ParsedEvent<Record<string, unknown> & { type: string }>;

/** `sse` through the SSE parser, fed in pieces cut at `cuts`. */
const parse = (sse: string, cuts: number[] = []): Parsed[] => parseSse(sse, cuts);

function assemble(events: Array<{ data: string; event: string }>): unknown {
  const a = new MessageAssembly();
  for (const e of events) a.add(e.data, e.event);
  return a.complete();
}

/** As JSON carries it: what the SDK adds client-side (`parsed_output`), leaves undefined, or hides, is not on the wire. */
const wire = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'parsed_output' ? undefined : x))) as unknown;

/**
 * The documented order: `message_start`; per block, in index order, `content_block_start`, its deltas,
 * `content_block_stop`; then `message_delta` and `message_stop`.
 */
function checkOrder(events: Parsed[], m: Message): void {
  events.forEach((e) => expect(e.json.type).toBe(e.event));
  const types = events.map((e) => e.event);
  expect(types[0]).toBe('message_start');
  expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
  let open: number | undefined;
  let next = 0;
  for (const e of events.slice(1, -2)) {
    const index = e.json.index as number;
    if (e.event === 'content_block_start') {
      expect(open).toBeUndefined();
      expect(index).toBe(next++);
      open = index;
    } else {
      expect(e.event === 'content_block_delta' || e.event === 'content_block_stop').toBe(true);
      expect(index).toBe(open);
      if (e.event === 'content_block_stop') open = undefined;
    }
  }
  expect(open).toBeUndefined();
  expect(next).toBe(m.content.length);
  // the start names no stop reason yet
  expect(events[0]!.json.message).toMatchObject({ content: [], stop_reason: null, stop_sequence: null });
}

// A tiny upstream that answers any request with the replay under test, for the SDK's stream helper to read.
let server: SseServer;
let sdk: Anthropic;
beforeAll(async () => {
  server = await startSseServer();
  sdk = new Anthropic({ apiKey: 'sk-ant-test', baseURL: server.origin, maxRetries: 0 });
});
afterAll(() => server.close());

/** The replay of `m` through the SDK's `messages.stream(...).finalMessage()`. */
async function throughSdk(m: Message) {
  server.serve(messageToEvents(m));
  const stream = sdk.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'x' }] });
  let streamedText = '';
  stream.on('text', (delta) => (streamedText += delta));
  const final = await stream.finalMessage();
  return { final, streamedText };
}

// ---------------------------------------------------------------------------

describe('messageToEvents → SseParser → MessageAssembly: the round trip', () => {
  it.each(REPRESENTATIVE)('%s: the events fold back into the message, in the documented order', (_, m) => {
    const events = parse(messageToEvents(m));
    checkOrder(events, m);
    const back = assemble(events);
    expect(back).toEqual(m);
    expect(isCompleteMessage(back)).toBe(true);
  });

  it('a tool-use message streams its blocks one after the other, each tool input as JSON fragments', () => {
    const events = parse(messageToEvents(PARALLEL_TOOLS));
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      ...[1, 2, 3].flatMap(() => ['content_block_start', 'content_block_delta', 'content_block_stop']),
      'message_delta',
      'message_stop',
    ]);
    const starts = events.filter((e) => e.event === 'content_block_start').map((e) => e.json.content_block);
    expect(starts[1]).toEqual({ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: {} });
    const fragments = events.filter((e) => (e.json.delta as { type?: string } | undefined)?.type === 'input_json_delta');
    expect(fragments.map((e) => JSON.parse((e.json.delta as { partial_json: string }).partial_json) as unknown)).toEqual(
      PARALLEL_TOOLS.content.filter((b) => b.type === 'tool_use').map((b) => b.input),
    );
    expect(events.at(-2)!.json).toEqual({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: USAGE });
  });

  it('thinking streams its text, then its signature; redacted thinking and server results arrive whole in their start', () => {
    const events = parse(messageToEvents(THINKING)).slice(1, -2);
    expect(events.map((e) => [e.event, (e.json.delta as { type?: string } | undefined)?.type])).toEqual([
      ['content_block_start', undefined],
      ['content_block_delta', 'thinking_delta'],
      ['content_block_delta', 'signature_delta'],
      ['content_block_stop', undefined],
      ['content_block_start', undefined],
      ['content_block_stop', undefined],
      ['content_block_start', undefined],
      ['content_block_delta', 'text_delta'],
      ['content_block_stop', undefined],
    ]);
    expect(events[0]!.json.content_block).toEqual({ type: 'thinking', thinking: '', signature: '' });
    expect(events[4]!.json.content_block).toEqual(THINKING.content[1]);
    const search = parse(messageToEvents(SERVER_TOOL));
    expect(search.filter((e) => e.event === 'content_block_start').map((e) => e.json.content_block)[1]).toEqual(SERVER_TOOL.content[1]);
  });
});

describe('the real @anthropic-ai/sdk reads the replay', () => {
  it.each(REPRESENTATIVE)('%s: messages.stream().finalMessage() is the message', async (_, m) => {
    const { final, streamedText } = await throughSdk(m);
    expect(wire(final)).toEqual(m);
    expect(streamedText).toBe(m.content.map((b) => (b.type === 'text' ? (b.text as string) : '')).join(''));
  });

  it('a message that carries stop_details and a container keeps them through the SDK', async () => {
    const m = message('msg_refusal_details', [{ type: 'text', text: 'Sure.', citations: null }], {
      stop_details: { type: 'refusal', category: null, explanation: null },
      container: { id: 'container_1', expires_at: '2026-01-01T00:00:00Z' },
    });
    const events = parse(messageToEvents(m));
    // message_start says no stop yet; message_delta says what it was.
    expect(events[0]!.json.message).toHaveProperty('stop_details', null);
    expect(events.at(-2)!.json.delta).toMatchObject({ stop_details: m.stop_details, container: m.container });
    expect(assemble(events)).toEqual(m);
    expect(wire((await throughSdk(m)).final)).toEqual(m);
  });

  it('a message whose stop_details is null, as the API sends it, keeps it null through the SDK', async () => {
    const m = message('msg_null_details', [{ type: 'text', text: 'Hello.', citations: null }], { stop_details: null, container: null });
    expect(assemble(parse(messageToEvents(m)))).toEqual(m);
    const { final } = await throughSdk(m);
    // The SDK sets stop_details from message_delta's delta, as the API always sends it there (null included).
    expect(final.stop_details).toBeNull();
    expect(wire(final)).toEqual(m);
  });
});

// ---------------------------------------------------------------------------
// random messages

const ID = fc.stringMatching(/^[A-Za-z0-9_]{1,16}$/);
/** a tool input: a JSON object, nested, as JSON carries it (no -0) */
const input = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>);
const citation = fc.oneof(
  fc.record({ type: fc.constant('char_location'), cited_text: text(), document_index: fc.nat(5), document_title: fc.option(text(), { nil: null }), start_char_index: fc.nat(500), end_char_index: fc.nat(500) }),
  fc.record({ type: fc.constant('web_search_result_location'), url: fc.webUrl(), title: text(), encrypted_index: ID, cited_text: text() }),
);
const block: fc.Arbitrary<ContentBlock> = fc.oneof(
  fc.record({ type: fc.constant('text'), text: text(60), citations: fc.option(fc.array(citation, { maxLength: 3 }), { nil: null }) }),
  fc.record({ type: fc.constant('tool_use'), id: ID, name: ID, input }),
  fc.record({ type: fc.constant('thinking'), thinking: text(60), signature: ID }),
  fc.record({ type: fc.constant('redacted_thinking'), data: ID }),
  fc.record({ type: fc.constant('server_tool_use'), id: ID, name: fc.constant('web_search'), input: fc.record({ query: text() }) }),
  fc.record({
    type: fc.constant('web_search_tool_result'),
    tool_use_id: ID,
    content: fc.array(fc.record({ type: fc.constant('web_search_result'), title: text(), url: fc.webUrl(), encrypted_content: ID, page_age: fc.constant(null) }), { maxLength: 2 }),
  }),
);
const randomMessage: fc.Arbitrary<Message> = fc
  .record({
    content: fc.array(block, { maxLength: 6 }),
    stop: fc.constantFrom('end_turn', 'stop_sequence', 'max_tokens', 'tool_use'),
    sequence: ID,
    usage: fc.record({ input_tokens: fc.nat(), cache_creation_input_tokens: fc.nat(), cache_read_input_tokens: fc.nat(), output_tokens: fc.nat() }),
  })
  .map(({ content, stop, sequence, usage }) => message('msg_random', content, { stop_reason: stop, stop_sequence: stop === 'stop_sequence' ? sequence : null, usage }));

describe('property: random messages round-trip', () => {
  it('replay, parsed in arbitrary pieces, folds back into the message by the assembly', () => {
    fc.assert(
      fc.property(randomMessage, fc.array(fc.nat(), { maxLength: 6 }), (m, cuts) => {
        const events = parse(messageToEvents(m), cuts);
        checkOrder(events, m);
        expect(assemble(events)).toEqual(m);
      }),
      runs(300),
    );
  });

  it('the SDK stream helper over HTTP gives back the message', async () => {
    await fc.assert(
      fc.asyncProperty(randomMessage, async (m) => {
        expect(wire((await throughSdk(m)).final)).toEqual(m);
      }),
      runs(25),
    );
  });
});

// ---------------------------------------------------------------------------

const named = (type: string, fields: Record<string, unknown> = {}) => ({ event: type, data: JSON.stringify({ type, ...fields }) });

describe('MessageAssembly refuses what is not one clean message', () => {
  const good = parse(messageToEvents(PARALLEL_TOOLS)).map(({ data, event }) => ({ data, event }));
  const start = good[0]!;
  const stop = good.at(-1)!;

  it('the clean stream is kept, pings anywhere after the start skipped (the baseline for what follows)', () => {
    expect(assemble(good)).toEqual(PARALLEL_TOOLS);
    const pinged = good.flatMap((e, i) => (i === 0 || i === good.length - 1 ? [e] : [named('ping'), e]));
    expect(assemble(pinged)).toEqual(PARALLEL_TOOLS);
  });

  it('an error event', () => {
    const error = named('error', { error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(assemble([...good.slice(0, 3), error, ...good.slice(3)])).toBeUndefined();
    expect(assemble([...good.slice(0, -1), error])).toBeUndefined();
  });

  it('an event before message_start', () => {
    expect(assemble([good[1]!, ...good])).toBeUndefined();
    expect(assemble(good.slice(1))).toBeUndefined();
  });

  it('a second message_start', () => {
    expect(assemble([start, ...good])).toBeUndefined();
    expect(assemble([...good.slice(0, 4), start, ...good.slice(4)])).toBeUndefined();
  });

  it('a delta of a type it does not know, or that does not fit its block', () => {
    expect(assemble([...good.slice(0, 2), named('content_block_delta', { index: 0, delta: { type: 'future_delta', x: 1 } }), ...good.slice(2)])).toBeUndefined();
    expect(assemble([...good.slice(0, 2), named('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{}' } }), ...good.slice(2)])).toBeUndefined();
    expect(assemble([...good.slice(0, 2), named('content_block_delta', { index: 7, delta: { type: 'text_delta', text: 'x' } }), ...good.slice(2)])).toBeUndefined();
    expect(assemble([...good.slice(0, 2), named('content_block_delta', { index: 0 }), ...good.slice(2)])).toBeUndefined();
  });

  it('a block never stopped, a block started inside another, or a text delta into a tool block', () => {
    const tool = (input: string) => [
      named('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_x', name: 'pay', input: {} } }),
      named('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: input } }),
    ];
    const end = [named('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } }), stop];
    // The tool's arguments streamed but its block never closed: stored, it would have served input {}.
    expect(assemble([start, ...tool('{"amount":5000}'), ...end])).toBeUndefined();
    expect(assemble([start, ...tool('{"amount":5000}'), named('content_block_stop', { index: 0 }), ...end])).toMatchObject({ content: [{ input: { amount: 5000 } }] });
    const second = named('content_block_start', { index: 1, content_block: { type: 'text', text: '' } });
    expect(assemble([start, ...tool('{}'), second, named('content_block_stop', { index: 1 }), named('content_block_stop', { index: 0 }), ...end])).toBeUndefined();
    const intoTool = named('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'x' } });
    expect(assemble([start, ...tool('{}'), intoTool, named('content_block_stop', { index: 0 }), ...end])).toBeUndefined();
  });

  it('an event type it does not know', () => {
    expect(assemble([...good.slice(0, -1), named('message_surprise'), stop])).toBeUndefined();
  });

  it('tool input fragments that do not make JSON', () => {
    const events = [
      start,
      named('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_x', name: 'f', input: {} } }),
      named('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city": "Par' } }),
      named('content_block_stop', { index: 0 }),
      named('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 3 } }),
      stop,
    ];
    expect(assemble(events)).toBeUndefined();
    // the same, finished: kept, its input parsed from the fragments; no fragment at all is {}
    const whole = [...events.slice(0, 3), named('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: 'is"}' } }), ...events.slice(3)];
    expect((assemble(whole) as Message).content[0]!.input).toEqual({ city: 'Paris' });
    const none = [...events.slice(0, 2), ...events.slice(3)];
    expect((assemble(none) as Message).content[0]!.input).toEqual({});
  });

  it('a stream with no message_stop, or anything after it', () => {
    expect(assemble(good.slice(0, -1))).toBeUndefined();
    expect(assemble([])).toBeUndefined();
    expect(assemble([...good, named('message_delta', { delta: { stop_reason: 'end_turn' }, usage: {} })])).toBeUndefined();
    expect(assemble([...good, stop])).toBeUndefined();
  });

  it('content_block_start with a wrong index: skipping one, repeating one, or none', () => {
    const block = (index: unknown) => named('content_block_start', { index, content_block: { type: 'text', text: '', citations: null } });
    const tail = [named('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 1 } }), stop];
    expect(assemble([start, block(0), named('content_block_stop', { index: 0 }), ...tail])).toMatchObject({ content: [{ type: 'text', text: '' }] });
    expect(assemble([start, block(1), named('content_block_stop', { index: 1 }), ...tail])).toBeUndefined();
    expect(assemble([start, block(0), block(0), ...tail])).toBeUndefined();
    expect(assemble([start, block(undefined), ...tail])).toBeUndefined();
    expect(assemble([start, block('0'), ...tail])).toBeUndefined();
  });

  it('invalid JSON, or JSON that is not an event', () => {
    for (const bad of ['{"type":"content_block_delta",', 'not json', '42', 'null']) {
      expect(assemble([...good.slice(0, 2), { data: bad, event: 'content_block_delta' }, ...good.slice(2)])).toBeUndefined();
    }
  });
});

describe('isCompleteMessage: which stop reasons are stored', () => {
  it.each(['end_turn', 'stop_sequence', 'max_tokens', 'tool_use'])('%s is stored', (stop_reason) => {
    expect(isCompleteMessage({ ...CITATIONS, stop_reason })).toBe(true);
    expect(MESSAGES.storable({ ...CITATIONS, stop_reason })).toBe(true);
  });

  it.each([['pause_turn'], ['refusal'], [null], [undefined], ['model_context_window_exceeded'], ['']])('%j is not', (stop_reason) => {
    expect(isCompleteMessage({ ...CITATIONS, stop_reason })).toBe(false);
    expect(MESSAGES.storable({ ...CITATIONS, stop_reason })).toBe(false);
  });

  it('nor anything that is not a whole message', () => {
    for (const v of [null, 'message', [], { ...CITATIONS, type: 'error' }, { ...CITATIONS, id: 1 }, { ...CITATIONS, content: 'x' }, { ...CITATIONS, content: [{ text: 'no type' }] }]) {
      expect(isCompleteMessage(v)).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------

const CTX: KeyContext = { tenant: 'tenant-a', namespace: '', embedderId: 'bundled/use-lite@1' };
type Body = Record<string, unknown>;
const body = (last: unknown, extra: Body = {}): Body => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  messages: [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: last },
  ],
  ...extra,
});
const keyOf = (b: Body, ctx: Partial<KeyContext> = {}): CacheKey => buildKey(MESSAGES.parse(b), { ...CTX, ...ctx });

const textBlock = (t: string) => ({ type: 'text', text: t });
const imageBlock = (data: string) => ({ type: 'image', source: { type: 'base64', media_type: 'image/png', data } });

describe('MESSAGES.parse', () => {
  it('parses a body: the model, whether it streams, its split; usage comes in the stream anyway', () => {
    const p = MESSAGES.parse(body('x', { stream: true }));
    expect(p).toMatchObject({ endpoint: 'messages', model: 'claude-sonnet-4-5', stream: true, includeUsage: false });
    expect(p.split).toBe(messagesSplit);
    expect(MESSAGES.scopeHeaders).toEqual(['anthropic-version', 'anthropic-beta']);
  });

  it.each([
    ['an existing container', { container: 'container_011' }, 'container'],
    ['remote MCP servers', { mcp_servers: [{ type: 'url', url: 'https://mcp.example.com', name: 'docs' }] }, 'mcp'],
    ['no MCP servers', { mcp_servers: [] }, undefined],
    ['nothing special', {}, undefined],
  ])('%s: bypass says %s', (_, extra, reason) => {
    expect(MESSAGES.bypass!(MESSAGES.parse(body('x', extra)))).toBe(reason);
  });

  it.each([
    ['model', { model: 5 }],
    ['max_tokens', { max_tokens: 0 }],
    ['messages', { messages: [] }],
    ['messages[0].content', { messages: [{ role: 'user', content: 5 }] }],
    ['system', { system: 5 }],
    ['stream', { stream: 'yes' }],
  ])('a bad %s is an InvalidRequestError naming it', (param, extra) => {
    expect(() => MESSAGES.parse(body('x', extra))).toThrow(InvalidRequestError);
    try {
      MESSAGES.parse(body('x', extra));
    } catch (e) {
      expect((e as InvalidRequestError).param).toBe(param);
    }
  });
});

describe('the query split (messagesSplit through buildKey)', () => {
  it("the last user message's text is the query: a string or text blocks, joined; the history is in the scope", () => {
    const a = keyOf(body('How do I reset my password?'));
    expect(a).toMatchObject({ text: 'How do I reset my password?', semantic: true });
    const b = keyOf(body('How can I reset my password?'));
    expect(b.scope).toBe(a.scope);
    expect(b.textKey).not.toBe(a.textKey);
    const blocks = keyOf(body([textBlock('Line one'), textBlock('line two')]));
    expect(blocks).toMatchObject({ text: 'Line one\nline two', semantic: true });
    const otherHistory = keyOf({ ...body('How do I reset my password?'), messages: [{ role: 'user', content: 'Hey' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'How do I reset my password?' }] });
    expect(otherHistory.scope).not.toBe(a.scope);
  });

  it('a tool_result in the last user message is exact-only: its result in the scope', () => {
    const turn = (result: string, withText = false) => ({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: result }, ...(withText ? [textBlock('And tomorrow?')] : [])] },
      ],
    });
    const sunny = keyOf(turn('18C and sunny'));
    expect(sunny).toMatchObject({ semantic: false, text: '', textKey: '-' });
    expect(keyOf(turn('9C and rain')).scope).not.toBe(sunny.scope);
    expect(keyOf(turn('18C and sunny'))).toEqual(sunny);
    // text next to the result does not make it semantic: the result decides the answer
    expect(keyOf(turn('18C and sunny', true)).semantic).toBe(false);
    // nor does an assistant prefill last
    expect(keyOf({ ...body('x'), messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hel' }] }).semantic).toBe(false);
  });

  it('image blocks stay in the scope in their place: moving one changes the scope, changing only the text does not', () => {
    const img = imageBlock('iVBORw0KGgo=');
    const base = keyOf(body([img, textBlock('What is in'), textBlock('this picture?')]));
    expect(base).toMatchObject({ text: 'What is in\nthis picture?', semantic: true });
    const last = keyOf(body([textBlock('What is in'), textBlock('this picture?'), img]));
    expect(last.text).toBe(base.text);
    expect(last.scope).not.toBe(base.scope);
    const otherText = keyOf(body([img, textBlock('What is shown in'), textBlock('this image?')]));
    expect(otherText.scope).toBe(base.scope);
    expect(otherText.textKey).not.toBe(base.textKey);
    const otherImage = keyOf(body([imageBlock('R0lGODlh'), textBlock('What is in'), textBlock('this picture?')]));
    expect(otherImage.scope).not.toBe(base.scope);
    expect(otherImage.textKey).toBe(base.textKey);
  });

  it('text blocks an image stands between are matched exactly, their words in the scope', () => {
    const img = imageBlock('iVBORw0KGgo=');
    const a = keyOf(body([textBlock('Image 1:'), img, textBlock('Image 2:\nWhich is brighter?'), img]));
    const b = keyOf(body([textBlock('Image 1:\nImage 2:'), img, textBlock('Which is brighter?'), img]));
    expect(a.semantic).toBe(false);
    expect(a.scope).not.toBe(b.scope);
  });

  it('system, tools, thinking and max_tokens are in the scope; stream is not', () => {
    const q = 'Name a primary colour.';
    const base = keyOf(body(q, { system: 'Answer in English.' }));
    const variants: Body[] = [
      body(q, { system: 'Answer in French.' }),
      body(q),
      body(q, { system: [{ type: 'text', text: 'Answer in English.', cache_control: { type: 'ephemeral' } }] }),
      body(q, { system: 'Answer in English.', tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: {} } }] }),
      body(q, { system: 'Answer in English.', thinking: { type: 'enabled', budget_tokens: 2048 } }),
      body(q, { system: 'Answer in English.', max_tokens: 16 }),
      body(q, { system: 'Answer in English.', model: 'claude-opus-4-1' }),
      body(q, { system: 'Answer in English.', temperature: 0 }),
    ];
    const scopes = variants.map((v) => keyOf(v).scope);
    for (const s of scopes) expect(s).not.toBe(base.scope);
    expect(new Set(scopes).size).toBe(scopes.length);
    expect(keyOf(body(q, { system: 'Answer in English.', stream: true }))).toEqual(base);
    expect(keyOf(body(q, { system: 'Answer in English.', stream: false }))).toEqual(base);
  });

  it('the headers that change the answer (KeyContext.headers) are in the scope', () => {
    const b = body('Name a primary colour.');
    const none = keyOf(b);
    const v1 = keyOf(b, { headers: { 'anthropic-version': '2023-06-01' } });
    const beta = keyOf(b, { headers: { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'interleaved-thinking-2025-05-14' } });
    const otherBeta = keyOf(b, { headers: { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'context-1m-2025-08-07' } });
    expect(new Set([none.scope, v1.scope, beta.scope, otherBeta.scope]).size).toBe(4);
    expect(v1.textKey).toBe(none.textKey);
    expect(keyOf(b, { headers: { 'anthropic-version': '2023-06-01' } })).toEqual(v1);
  });
});
