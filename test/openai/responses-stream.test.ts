/**
 * The Responses API's typed events both ways (src/openai/responses-stream.ts) and its wire (src/openai/responses.ts):
 * a stored response replays as events that the SSE parser, Reprise's own assembly and the real `openai` SDK's
 * accumulator all fold back into it; the assembly refuses any stream that is not one clean answer; which responses
 * are storable; which requests bypass the cache; and where the query text is (responsesSplit through buildKey).
 */
import fc from 'fast-check';
import OpenAI from 'openai';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildKey, type CacheKey, type KeyContext } from '../../src/cache/key.js';
import { InvalidRequestError } from '../../src/openai/errors.js';
import { isCompleteResponse, RESPONSES, type OutputItem, type Response } from '../../src/openai/responses.js';
import { ResponsesAssembly, responseToEvents } from '../../src/openai/responses-stream.js';
import { parseSse, startSseServer, type ParsedEvent, type SseServer } from '../helpers/sse-events.js';
import { runs, text } from '../fuzz/arbitraries.js';

// ---------------------------------------------------------------------------
// representative responses

const USAGE = { input_tokens: 36, input_tokens_details: { cached_tokens: 0 }, output_tokens: 87, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 123 };

/** A response with every field the API sends, as it sends them. */
function response(id: string, output: OutputItem[], extra: Record<string, unknown> = {}): Response {
  return {
    id,
    object: 'response',
    created_at: 1741476542,
    status: 'completed',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model: 'gpt-4.1-2025-04-14',
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: USAGE,
    user: null,
    metadata: {},
    ...extra,
  };
}

const message = (id: string, content: Array<Record<string, unknown>>, status = 'completed'): OutputItem => ({ type: 'message', id, status, role: 'assistant', content });
const outputText = (t: string, annotations: unknown[] = [], logprobs: unknown[] = []) => ({ type: 'output_text', text: t, annotations, logprobs });
const functionCall = (i: number, name: string, args: string): OutputItem => ({ type: 'function_call', id: `fc_${i}`, call_id: `call_${i}`, name, arguments: args, status: 'completed' });

const WITH_ANNOTATIONS = response(
  'resp_text',
  [
    message('msg_1', [
      outputText(
        'Paris is the capital of France [1]. Héllo 日本 🎉\nsecond line "quoted" \\ back',
        [
          { type: 'url_citation', start_index: 0, end_index: 33, url: 'https://en.wikipedia.org/wiki/Paris', title: 'Paris – Wikipedia' },
          { type: 'file_citation', file_id: 'file-abc', filename: 'atlas.pdf', index: 12 },
        ],
        [
          { token: 'Paris', logprob: -0.0001, bytes: [80, 97, 114, 105, 115], top_logprobs: [{ token: 'Paris', logprob: -0.0001, bytes: [80, 97, 114, 105, 115] }] },
          { token: ' is', logprob: -0.25, bytes: [32, 105, 115], top_logprobs: [] },
        ],
      ),
    ]),
  ],
  { completed_at: 1741476545 },
);

const REFUSAL = response('resp_refusal', [message('msg_2', [{ type: 'refusal', refusal: "I'm sorry, I can't help with that." }])]);

const PARALLEL_CALLS = response(
  'resp_calls',
  [functionCall(1, 'get_weather', '{"city":"Paris"}'), functionCall(2, 'get_weather', '{"city":"Rome","units":{"temp":"C","nested":[1,2,{"a":null}]}}')],
  { tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }] },
);

const REASONING = response(
  'resp_reasoning',
  [
    {
      type: 'reasoning',
      id: 'rs_1',
      summary: [
        { type: 'summary_text', text: '**Weighing the options**\n\nThe user asks for a prime.' },
        { type: 'summary_text', text: 'Seven is prime.' },
      ],
      encrypted_content: 'gAAAAABo-opaque',
    },
    message('msg_3', [outputText('7')]),
  ],
  { reasoning: { effort: 'medium', summary: 'auto' }, usage: { ...USAGE, output_tokens_details: { reasoning_tokens: 64 } } },
);

const REASONING_TEXT = response('resp_reasoning_text', [
  { type: 'reasoning', id: 'rs_2', summary: [], content: [{ type: 'reasoning_text', text: 'Think it through: 2 + 2 = 4.' }] },
  message('msg_4', [outputText('4')]),
]);

const WEB_SEARCH = response(
  'resp_search',
  [
    { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'weather in Paris today' } },
    message('msg_5', [outputText('It is sunny in Paris.', [{ type: 'url_citation', start_index: 0, end_index: 21, url: 'https://weather.example/paris', title: 'Paris weather' }])]),
  ],
  { tools: [{ type: 'web_search', search_context_size: 'medium' }] },
);

const CUSTOM_TOOL = response('resp_custom', [{ type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_c1', name: 'run_sql', input: 'SELECT 1;', status: 'completed' }]);

const INCOMPLETE = response('resp_incomplete', [message('msg_6', [outputText('The history of Rome begins with')], 'incomplete')], {
  status: 'incomplete',
  incomplete_details: { reason: 'max_output_tokens' },
  max_output_tokens: 16,
});

const REPRESENTATIVE: Array<[string, Response]> = [
  ['a text message with annotations and logprobs', WITH_ANNOTATIONS],
  ['a refusal', REFUSAL],
  ['parallel function calls', PARALLEL_CALLS],
  ['a reasoning item with summary parts, then a message', REASONING],
  ['a reasoning item with reasoning text', REASONING_TEXT],
  ['a hosted tool call (web_search_call), then a cited message', WEB_SEARCH],
  ['a custom tool call', CUSTOM_TOOL],
  ['incomplete for max_output_tokens', INCOMPLETE],
];

// ---------------------------------------------------------------------------
// helpers

type Parsed = ParsedEvent<Record<string, unknown> & { type: string; sequence_number: number }>;

/** `sse` through the SSE parser, fed in pieces cut at `cuts`. */
const parse = (sse: string, cuts: number[] = []): Parsed[] => parseSse(sse, cuts);

function assemble(events: Array<{ data: string; event: string }>): unknown {
  const a = new ResponsesAssembly();
  for (const e of events) a.add(e.data, e.event);
  return a.complete();
}

/** The SDK adds these client-side; the wire carries none of them. */
const SDK_FIELDS = new Set(['output_text', 'output_parsed', 'parsed', 'parsed_arguments']);
const wire = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (SDK_FIELDS.has(k) ? undefined : x))) as unknown;
const without = (v: unknown, key: string): unknown => {
  const { [key]: _, ...rest } = v as Record<string, unknown>;
  return rest;
};

const at = (ev: Parsed['json']) => ({ oi: ev.output_index as number, ci: ev.content_index as number, si: ev.summary_index as number });

/**
 * The documented order: `response.created`, `response.in_progress`, then each output item in turn from its
 * `output_item.added` to its `output_item.done` (each content part from `content_part.added` to `.done`, each summary
 * part from `reasoning_summary_part.added` to `.done`), then the terminal event; sequence numbers 0, 1, 2…
 */
function checkOrder(events: Parsed[], r: Response): void {
  events.forEach((e, i) => {
    expect(e.json.type).toBe(e.event);
    expect(e.json.sequence_number).toBe(i);
  });
  const types = events.map((e) => e.event);
  expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress']);
  expect(types.at(-1)).toBe(r.status === 'incomplete' ? 'response.incomplete' : 'response.completed');
  const body = events.slice(2, -1);
  let item = -1;
  let open = false;
  let part: string | undefined;
  /** the open part's index, and the next part's, per kind of part, in the open item */
  let partIndex: number | undefined;
  let nextPart: Record<string, number> = {};
  for (const e of body) {
    const { oi } = at(e.json);
    const index = (e.json.content_index ?? e.json.summary_index) as number | undefined;
    if (e.event === 'response.output_item.added') {
      expect(open).toBe(false);
      expect(oi).toBe(++item);
      open = true;
      nextPart = {};
      continue;
    }
    // deltas and dones inside a part name that part
    if (part !== undefined && index !== undefined) expect(index).toBe(partIndex);
    // every other event belongs to the open item: none comes after its done event
    expect(open).toBe(true);
    expect(oi).toBe(item);
    if (e.event === 'response.output_item.done') {
      expect(part).toBeUndefined();
      open = false;
    } else if (e.event === 'response.content_part.added' || e.event === 'response.reasoning_summary_part.added') {
      expect(part).toBeUndefined();
      part = e.event.replace('.added', '');
      // parts open in order, 0, 1, 2…
      expect(index).toBe((nextPart[part] = (nextPart[part] ?? -1) + 1));
      partIndex = index;
    } else if (e.event === 'response.content_part.done' || e.event === 'response.reasoning_summary_part.done') {
      expect(part).toBe(e.event.replace('.done', ''));
      part = undefined;
    }
  }
  expect(open).toBe(false);
  expect(item).toBe(r.output.length - 1);
}

/**
 * Folds the events with the SDK's own accumulator (what ResponseStream runs), checking on the way that what the deltas
 * built agrees with every `.done` event before it lands: the text, arguments and parts, and the item but for its
 * status (in progress until done). The SDK keeps no logprobs from the deltas: those are checked here, against the
 * done events. Returns the final snapshot.
 */
function sdkFold(events: Parsed[]): unknown {
  let snap: OpenAI.Responses.Response | undefined;
  const logprobs = new Map<string, unknown[]>();
  for (const e of events) {
    const ev = e.json;
    const where = `${String(ev.output_index)}/${String(ev.content_index)}`;
    if (ev.type === 'response.output_text.delta') logprobs.set(where, [...(logprobs.get(where) ?? []), ...((ev.logprobs as unknown[] | undefined) ?? [])]);
    if (ev.type === 'response.output_text.done') expect(ev.logprobs).toEqual(logprobs.get(where));
    if (snap) {
      const { oi, ci, si } = at(ev);
      const item = snap.output[oi] as unknown as Record<string, unknown> | undefined;
      const content = item?.content as Array<Record<string, unknown>> | undefined;
      const summary = item?.summary as Array<Record<string, unknown>> | undefined;
      switch (ev.type) {
        case 'response.output_text.done':
        case 'response.reasoning_text.done':
          expect(content![ci]!.text).toBe(ev.text);
          break;
        case 'response.refusal.done':
          expect(content![ci]!.refusal).toBe(ev.refusal);
          break;
        case 'response.function_call_arguments.done':
          expect(item!.arguments).toBe(ev.arguments);
          break;
        case 'response.custom_tool_call_input.done':
          expect(item!.input).toBe(ev.input);
          break;
        case 'response.reasoning_summary_text.done':
          expect(summary![si]!.text).toBe(ev.text);
          break;
        case 'response.reasoning_summary_part.done':
          expect(summary![si]).toEqual(ev.part);
          break;
        case 'response.content_part.done': {
          const part = ev.part as Record<string, unknown>;
          if (Array.isArray(part.logprobs)) expect(part.logprobs).toEqual(logprobs.get(where));
          expect(without(content![ci], 'logprobs')).toEqual(without(part, 'logprobs'));
          break;
        }
        case 'response.output_item.done':
          expect(without(wire(item), 'status')).toEqual(without(ev.item, 'status'));
          break;
      }
    }
    snap = accumulateResponse(ev as unknown as OpenAI.Responses.ResponseStreamEvent, snap);
  }
  return snap;
}

// A tiny upstream that answers any request with the replay under test, for the SDK's stream helper to read.
let server: SseServer;
let sdk: OpenAI;
beforeAll(async () => {
  server = await startSseServer();
  sdk = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.origin}/v1`, maxRetries: 0 });
});
afterAll(() => server.close());

/** The replay of `r` through the SDK's `responses.stream(...).finalResponse()`. */
async function throughSdk(r: Response) {
  server.serve(responseToEvents(r));
  const stream = sdk.responses.stream({ model: 'm', input: 'x' });
  const types: string[] = [];
  stream.on('event', (e) => types.push(e.type));
  const final = await stream.finalResponse();
  return { final, types };
}

// ---------------------------------------------------------------------------

describe('responseToEvents → SseParser → ResponsesAssembly: the round trip', () => {
  it.each(REPRESENTATIVE)('%s: the events fold back into the response, in the documented order', (_, r) => {
    const events = parse(responseToEvents(r));
    checkOrder(events, r);
    expect(assemble(events)).toEqual(r);
    expect(isCompleteResponse(assemble(events))).toBe(true);
    expect(wire(sdkFold(events))).toEqual(r);
  });

  it('a text message streams as created, in_progress, item and part added, delta, annotations, done…, completed', () => {
    const events = parse(responseToEvents(WITH_ANNOTATIONS));
    expect(events.map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.annotation.added',
      'response.output_text.annotation.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const [created, inProgress, added, partAdded, delta, ann0, ann1, textDone] = events.map((e) => e.json);
    // the snapshots before the end: in progress, no output, no usage, nothing finished yet
    for (const s of [created!, inProgress!]) {
      expect(s.response).toEqual({ ...WITH_ANNOTATIONS, status: 'in_progress', output: [], usage: null, completed_at: null });
    }
    expect(added!.item).toEqual({ ...WITH_ANNOTATIONS.output[0], status: 'in_progress', content: [] });
    expect(partAdded!.part).toEqual({ type: 'output_text', text: '', annotations: [], logprobs: [] });
    const part = (WITH_ANNOTATIONS.output[0]!.content as Array<Record<string, unknown>>)[0]!;
    expect(delta).toMatchObject({ item_id: 'msg_1', output_index: 0, content_index: 0, delta: part.text, logprobs: part.logprobs });
    expect(ann0).toMatchObject({ annotation_index: 0, annotation: (part.annotations as unknown[])[0] });
    expect(ann1).toMatchObject({ annotation_index: 1, annotation: (part.annotations as unknown[])[1] });
    expect(textDone).toMatchObject({ text: part.text, logprobs: part.logprobs });
    expect(events.at(-1)!.json.response).toEqual(WITH_ANNOTATIONS);
  });

  it('parallel function calls, a reasoning item, a hosted call and an incomplete response stream their own events', () => {
    const types = (r: Response) => parse(responseToEvents(r)).map((e) => e.event).slice(2);
    expect(types(PARALLEL_CALLS)).toEqual([
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(types(REASONING).slice(0, 10)).toEqual([
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
    ]);
    expect(types(REFUSAL)).toEqual([
      'response.output_item.added',
      'response.content_part.added',
      'response.refusal.delta',
      'response.refusal.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(types(WEB_SEARCH).slice(0, 2)).toEqual(['response.output_item.added', 'response.output_item.done']);
    expect(types(INCOMPLETE).at(-1)).toBe('response.incomplete');
    const fc1 = parse(responseToEvents(PARALLEL_CALLS))[2]!.json;
    expect(fc1.item).toEqual({ ...PARALLEL_CALLS.output[0], status: 'in_progress', arguments: '' });
  });
});

describe('the real openai SDK reads the replay', () => {
  it.each(REPRESENTATIVE)('%s: responses.stream().finalResponse() is the response', async (_, r) => {
    const { final, types } = await throughSdk(r);
    expect(wire(final)).toEqual(r);
    expect(types).toEqual(parse(responseToEvents(r)).map((e) => e.event));
    // what the SDK works out for itself agrees too
    const texts = r.output.flatMap((o) => (o.type === 'message' ? (o.content as Array<{ type: string; text?: string }>) : [])).filter((p) => p.type === 'output_text');
    expect(final.output_text).toBe(texts.map((p) => p.text).join(''));
  });
});

// ---------------------------------------------------------------------------
// random responses

const ID = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
const annotation = fc.oneof(
  fc.record({ type: fc.constant('url_citation'), start_index: fc.nat(500), end_index: fc.nat(500), url: fc.webUrl(), title: text() }),
  fc.record({ type: fc.constant('file_citation'), file_id: ID, filename: text(), index: fc.nat(500) }),
);
const logprob = fc.record({
  token: text(8),
  logprob: fc.integer({ min: -20_000, max: -1 }).map((n) => n / 1000),
  bytes: fc.array(fc.nat(255), { maxLength: 4 }),
  top_logprobs: fc.constant([]),
});
const textPart = fc.record(
  { type: fc.constant('output_text'), text: text(60), annotations: fc.array(annotation, { maxLength: 3 }), logprobs: fc.array(logprob, { maxLength: 3 }) },
  { requiredKeys: ['type', 'text', 'annotations'] },
);
const refusalPart = fc.record({ type: fc.constant('refusal'), refusal: text(40) });
const jsonArgs = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));

/** One output item of each kind the replay knows, numbered by its place so ids are unique. */
const itemOf = (status: string) =>
  fc.oneof(
    fc.record({ type: fc.constant('message'), status: fc.constant(status), role: fc.constant('assistant'), content: fc.array(fc.oneof(textPart, refusalPart), { minLength: 1, maxLength: 3 }) }),
    fc.record({ type: fc.constant('function_call'), call_id: ID, name: ID, arguments: jsonArgs, status: fc.constant('completed') }),
    fc.record(
      {
        type: fc.constant('reasoning'),
        summary: fc.array(fc.record({ type: fc.constant('summary_text'), text: text(40) }), { maxLength: 3 }),
        content: fc.array(fc.record({ type: fc.constant('reasoning_text'), text: text(40) }), { maxLength: 2 }),
        encrypted_content: fc.option(ID, { nil: null }),
      },
      { requiredKeys: ['type', 'summary'] },
    ),
    fc.record({ type: fc.constant('web_search_call'), status: fc.constant('completed'), action: fc.record({ type: fc.constant('search'), query: text() }) }),
    fc.record({ type: fc.constant('file_search_call'), status: fc.constant('completed'), queries: fc.array(text(), { maxLength: 2 }), results: fc.constant(null) }),
    fc.record({ type: fc.constant('custom_tool_call'), call_id: ID, name: ID, input: text(40) }),
  );

const randomResponse: fc.Arbitrary<Response> = fc
  .constantFrom('completed', 'incomplete')
  .chain((status) =>
    fc.record({
      status: fc.constant(status),
      items: fc.array(itemOf(status === 'incomplete' ? 'incomplete' : 'completed'), { maxLength: 5 }),
      instructions: fc.option(text(), { nil: null }),
      metadata: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), text(12), { maxKeys: 3 }),
      completedAt: fc.option(fc.nat(), { nil: undefined }),
    }),
  )
  .map(({ status, items, instructions, metadata, completedAt }) =>
    response(
      'resp_random',
      items.map((it, i) => ({ ...it, id: `${it.type}_${i}` })),
      {
        status,
        instructions,
        metadata,
        ...(status === 'incomplete' && { incomplete_details: { reason: 'max_output_tokens' } }),
        ...(completedAt !== undefined && { completed_at: completedAt }),
      },
    ),
  );

describe('property: random responses round-trip', () => {
  it('replay, parsed in arbitrary pieces, folds back into the response: by the assembly and by the SDK accumulator', () => {
    fc.assert(
      fc.property(randomResponse, fc.array(fc.nat(), { maxLength: 6 }), (r, cuts) => {
        const events = parse(responseToEvents(r), cuts);
        checkOrder(events, r);
        expect(assemble(events)).toEqual(r);
        expect(wire(sdkFold(events))).toEqual(r);
      }),
      runs(300),
    );
  });

  it('the SDK stream helper over HTTP gives back the response', async () => {
    await fc.assert(
      fc.asyncProperty(randomResponse, async (r) => {
        const { final } = await throughSdk(r);
        expect(wire(final)).toEqual(r);
      }),
      runs(25),
    );
  });
});

// ---------------------------------------------------------------------------

/** The replay's events as {data, event}, for the assembly. */
const eventsOf = (r: Response) => parse(responseToEvents(r)).map(({ data, event }) => ({ data, event }));
const named = (type: string, fields: Record<string, unknown>) => ({ event: type, data: JSON.stringify({ type, ...fields }) });

describe('ResponsesAssembly refuses what is not one clean answer', () => {
  const good = eventsOf(WITH_ANNOTATIONS);
  const n = good.length;

  it('the clean stream is kept (the baseline for what follows)', () => {
    expect(assemble(good)).toEqual(WITH_ANNOTATIONS);
  });

  it('an error event, before the terminal event or instead of it', () => {
    const error = named('error', { code: 'server_error', message: 'boom', param: null, sequence_number: n - 1 });
    const renumbered = (e: { data: string; event: string }, seq: number) => ({ ...e, data: JSON.stringify({ ...(JSON.parse(e.data) as object), sequence_number: seq }) });
    expect(assemble([...good.slice(0, -1), error, renumbered(good[n - 1]!, n)])).toBeUndefined();
    expect(assemble([...good.slice(0, -1), error])).toBeUndefined();
  });

  it('response.failed and response.cancelled', () => {
    const failed = { ...WITH_ANNOTATIONS, status: 'failed', error: { code: 'server_error', message: 'x' } };
    expect(assemble([...good.slice(0, -1), named('response.failed', { response: failed, sequence_number: n - 1 })])).toBeUndefined();
    expect(assemble([...good.slice(0, -1), named('response.cancelled', { response: { ...failed, status: 'cancelled', error: null }, sequence_number: n - 1 })])).toBeUndefined();
  });

  it('a terminal response holding fewer output items than the stream announced', () => {
    const shorter = { ...WITH_ANNOTATIONS, output: [] };
    expect(assemble([...good.slice(0, -1), named('response.completed', { response: shorter, sequence_number: n - 1 })])).toBeUndefined();
  });

  it('sequence numbers out of order, or repeated', () => {
    const swapped = [...good];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    expect(assemble(swapped)).toBeUndefined();
    expect(assemble([...good.slice(0, 4), good[3]!, ...good.slice(4)])).toBeUndefined();
    const repeatedNumber = good.map((e, i) => (i === 5 ? { ...e, data: JSON.stringify({ ...(JSON.parse(e.data) as object), sequence_number: 4 }) } : e));
    expect(assemble(repeatedNumber)).toBeUndefined();
  });

  it('any event after the terminal one', () => {
    expect(assemble([...good, named('response.output_text.delta', { sequence_number: n, delta: 'more' })])).toBeUndefined();
    expect(assemble([...good, good[n - 1]!])).toBeUndefined();
    // numbered in order, a second terminal event is still one too many
    expect(assemble([...good, named('response.completed', { response: WITH_ANNOTATIONS, sequence_number: n })])).toBeUndefined();
  });

  it('invalid JSON, or JSON that is not an event', () => {
    for (const bad of ['{"type":"response.output_text.delta",', 'not json', '42', 'null']) {
      expect(assemble([...good.slice(0, 4), { data: bad, event: 'message' }, ...good.slice(4)])).toBeUndefined();
    }
  });

  it('a stream with no terminal event', () => {
    expect(assemble(good.slice(0, -1))).toBeUndefined();
    expect(assemble([])).toBeUndefined();
  });
});

describe('isCompleteResponse', () => {
  it('accepts completed, and incomplete because it reached max_output_tokens', () => {
    expect(isCompleteResponse(WITH_ANNOTATIONS)).toBe(true);
    expect(isCompleteResponse(INCOMPLETE)).toBe(true);
    expect(isCompleteResponse({ ...WITH_ANNOTATIONS, output: [] })).toBe(true);
    expect(RESPONSES.storable(INCOMPLETE)).toBe(true);
  });

  it.each([
    ['failed', { status: 'failed', error: { code: 'server_error', message: 'x' } }],
    ['failed with no error set', { status: 'failed' }],
    ['cancelled', { status: 'cancelled' }],
    ['in_progress', { status: 'in_progress' }],
    ['queued', { status: 'queued' }],
    ['incomplete for content_filter', { status: 'incomplete', incomplete_details: { reason: 'content_filter' } }],
    ['incomplete with no reason', { status: 'incomplete', incomplete_details: null }],
    ['completed with an error set', { error: { code: 'server_error', message: 'x' } }],
    ['incomplete/max_output_tokens with an error set', { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, error: { code: 'x', message: 'y' } }],
    ['not a response object', { object: 'chat.completion' }],
    ['no id', { id: 1 }],
    ['output not a list', { output: {} }],
    ['an output item with no type', { output: [{ id: 'x' }] }],
  ])('refuses %s', (_, change) => {
    expect(isCompleteResponse({ ...WITH_ANNOTATIONS, ...change })).toBe(false);
    expect(RESPONSES.storable({ ...WITH_ANNOTATIONS, ...change })).toBe(false);
  });

  it('refuses what is not an object', () => {
    for (const v of [null, undefined, 'response', 1, []]) expect(isCompleteResponse(v)).toBe(false);
  });
});

// ---------------------------------------------------------------------------

describe('RESPONSES.parse and bypass', () => {
  const parseBody = (extra: Record<string, unknown>) => RESPONSES.parse({ model: 'gpt-4o-mini', input: 'Hi', ...extra });
  const bypass = (extra: Record<string, unknown>) => RESPONSES.bypass!(parseBody(extra));

  it('parses a body: the model, whether it streams, no usage option (the terminal event carries usage)', () => {
    const p = parseBody({ stream: true });
    expect(p).toMatchObject({ endpoint: 'responses', model: 'gpt-4o-mini', stream: true, includeUsage: false });
    expect(parseBody({}).stream).toBe(false);
    // a stored prompt may stand in for the model and the input
    expect(RESPONSES.parse({ prompt: { id: 'pmpt_1', version: '2' } }).model).toBe('');
  });

  it.each([
    ['previous_response_id', { previous_response_id: 'resp_123' }, 'previous-response-id'],
    ['a conversation id', { conversation: 'conv_123' }, 'conversation'],
    ['a conversation object', { conversation: { id: 'conv_123' } }, 'conversation'],
    ['background: true', { background: true }, 'background'],
    ['a prompt without a version', { prompt: { id: 'pmpt_1' } }, 'prompt-unversioned'],
    ['a prompt with a null version', { prompt: { id: 'pmpt_1', version: null } }, 'prompt-unversioned'],
    ['a remote MCP tool', { tools: [{ type: 'mcp', server_label: 'docs', server_url: 'https://mcp.example.com' }] }, 'mcp'],
    ['a code interpreter in an existing container', { tools: [{ type: 'code_interpreter', container: 'cntr_123' }] }, 'container'],
  ])('%s bypasses the cache', (_, extra, reason) => {
    expect(bypass(extra)).toBe(reason);
  });

  it.each([
    ['store: true', { store: true }],
    ['store: false', { store: false }],
    ['background: false', { background: false }],
    ['previous_response_id: null', { previous_response_id: null }],
    ['conversation: null', { conversation: null }],
    ['a versioned prompt', { prompt: { id: 'pmpt_1', version: '3' } }],
    ['a code interpreter in a new container', { tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] }],
    ['a function tool', { tools: [{ type: 'function', name: 'f', parameters: {} }] }],
    ['nothing special', {}],
  ])('%s does not', (_, extra) => {
    expect(bypass(extra)).toBeUndefined();
  });

  it.each([
    ['model', { model: 5 }],
    ['model', { model: '' }],
    ['input', { input: 5 }],
    ['input', { input: [1] }],
    ['stream', { stream: 'yes' }],
    ['background', { background: 'yes' }],
    ['previous_response_id', { previous_response_id: 7 }],
    ['conversation', { conversation: 7 }],
    ['prompt', { prompt: 'pmpt_1' }],
    ['prompt.id', { prompt: { version: '1' } }],
  ])('a bad %s (%j) is an InvalidRequestError naming it', (param, extra) => {
    let caught: unknown;
    try {
      parseBody(extra);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidRequestError);
    expect((caught as InvalidRequestError).param).toBe(param);
    expect((caught as InvalidRequestError).status).toBe(400);
    expect((caught as InvalidRequestError).message).toContain(`'${param}'`);
  });

  it('a body that is not a JSON object is an InvalidRequestError', () => {
    for (const body of [null, [], 'input', 3]) expect(() => RESPONSES.parse(body)).toThrow(InvalidRequestError);
  });
});

// ---------------------------------------------------------------------------

const CTX: KeyContext = { tenant: 'tenant-a', namespace: '', embedderId: 'bundled/use-lite@1' };
const keyOf = (body: Record<string, unknown>): CacheKey => buildKey(RESPONSES.parse({ model: 'gpt-4o-mini', ...body }), CTX);

const inputText = (t: string) => ({ type: 'input_text', text: t });
const inputImage = (url: string) => ({ type: 'input_image', detail: 'auto', image_url: url });
const user = (...content: unknown[]) => ({ type: 'message', role: 'user', content });

describe('the query split (responsesSplit through buildKey)', () => {
  it('a string input is the query text: another string is the same scope, another text key', () => {
    const a = keyOf({ input: 'How do I reset my password?' });
    const b = keyOf({ input: 'How can I reset my password?' });
    expect(a).toMatchObject({ text: 'How do I reset my password?', semantic: true });
    expect(b.scope).toBe(a.scope);
    expect(b.textKey).not.toBe(a.textKey);
    expect(keyOf({ input: 'How do I reset my password?' })).toEqual(a);
  });

  it("an item list: the last user message's input_text parts, joined; its earlier items are in the scope", () => {
    const k = keyOf({ input: [user(inputText('Line one'), inputText('line two'))] });
    expect(k).toMatchObject({ text: 'Line one\nline two', semantic: true });
    const asString = keyOf({ input: [{ role: 'user', content: 'Line one' }] });
    expect(asString).toMatchObject({ text: 'Line one', semantic: true });
    // the string form and the item form are different bodies upstream: different scopes
    expect(keyOf({ input: 'Line one' }).scope).not.toBe(asString.scope);
    const history = [{ role: 'user', content: 'Hi' }, { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello!' }] }];
    const withHistory = keyOf({ input: [...history, { role: 'user', content: 'Line one' }] });
    expect(withHistory.text).toBe('Line one');
    expect(withHistory.scope).not.toBe(asString.scope);
    const otherHistory = keyOf({ input: [history[0], { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hey.' }] }, { role: 'user', content: 'Line one' }] });
    expect(otherHistory.scope).not.toBe(withHistory.scope);
  });

  it('a function_call_output last is exact-only: no semantic text, the output in the scope', () => {
    const turn = (output: string) => ({
      input: [
        { role: 'user', content: 'weather in Paris?' },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_1', output },
      ],
    });
    const sunny = keyOf(turn('18C and sunny'));
    expect(sunny).toMatchObject({ semantic: false, text: '', textKey: '-' });
    expect(keyOf(turn('9C and rain')).scope).not.toBe(sunny.scope);
    expect(keyOf(turn('18C and sunny'))).toEqual(sunny);
    // likewise an assistant message last (a prefill)
    expect(keyOf({ input: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hel' }] }).semantic).toBe(false);
  });

  it('input_image parts stay in the scope in their place: moving one changes the scope, changing only the text does not', () => {
    const img = inputImage('data:image/png;base64,iVBORw0KGgo=');
    const base = keyOf({ input: [user(img, inputText('What is in'), inputText('this picture?'))] });
    expect(base).toMatchObject({ text: 'What is in\nthis picture?', semantic: true });
    const last = keyOf({ input: [user(inputText('What is in'), inputText('this picture?'), img)] });
    expect(last.text).toBe(base.text);
    expect(last.scope).not.toBe(base.scope);
    const otherText = keyOf({ input: [user(img, inputText('What is shown in'), inputText('this image?'))] });
    expect(otherText.scope).toBe(base.scope);
    expect(otherText.textKey).not.toBe(base.textKey);
    const otherImage = keyOf({ input: [user(inputImage('data:image/png;base64,R0lGODlh'), inputText('What is in'), inputText('this picture?'))] });
    expect(otherImage.scope).not.toBe(base.scope);
    expect(otherImage.textKey).toBe(base.textKey);
  });

  it('input_text parts an image stands between are matched exactly, their words in the scope', () => {
    const img = inputImage('data:image/png;base64,iVBORw0KGgo=');
    const a = keyOf({ input: [user(inputText('Image 1:'), img, inputText('Image 2:\nWhich is brighter?'), img)] });
    const b = keyOf({ input: [user(inputText('Image 1:\nImage 2:'), img, inputText('Which is brighter?'), img)] });
    expect(a.semantic).toBe(false);
    expect(a.scope).not.toBe(b.scope);
  });

  it('instructions, tools, text.format and reasoning are in the scope; stream and stream_options are not', () => {
    const q = { input: 'Name a primary colour.', instructions: 'Answer in English.' };
    const base = keyOf(q);
    const variants: Array<Record<string, unknown>> = [
      { ...q, instructions: 'Answer in French.' },
      { input: q.input },
      { ...q, tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } }] },
      { ...q, tools: [{ type: 'web_search' }] },
      { ...q, text: { format: { type: 'json_object' } } },
      { ...q, text: { format: { type: 'json_schema', name: 'c', schema: { type: 'object' }, strict: true } } },
      { ...q, reasoning: { effort: 'high' } },
      { ...q, reasoning: { effort: 'low', summary: 'auto' } },
      { ...q, model: 'gpt-4.1' },
      { ...q, max_output_tokens: 16 },
      { ...q, store: false },
    ];
    const scopes = variants.map((v) => keyOf(v).scope);
    for (const s of scopes) expect(s).not.toBe(base.scope);
    expect(new Set(scopes).size).toBe(scopes.length);
    const streamed = keyOf({ ...q, stream: true });
    expect(streamed).toEqual(base);
    expect(keyOf({ ...q, stream: true, stream_options: { include_obfuscation: false } })).toEqual(base);
    expect(keyOf({ ...q, stream: false })).toEqual(base);
  });
});
