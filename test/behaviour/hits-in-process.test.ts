/**
 * The hit tests that need in-process parts of Reprise: the FakeClock (Age, TTL), the in-process metrics, a store that
 * counts its searches. Split from hits.test.ts, so that the rest of it runs on the Worker front too; the hits as
 * bytes on the wire are here because their Age is read off the clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlakyStore } from '../helpers/flaky-store.js';
import { ask, chat, startHarness, useHarness, type Harness } from '../helpers/harness.js';
import { exchange, type RawResponse } from '../helpers/raw-http.js';

const h = useHarness();

/** the default --ttl */
const TTL_MS = 86_400_000;
const AUTH: Array<[string, string]> = [
  ['Authorization', 'Bearer sk-test-a'],
  ['Content-Type', 'application/json'],
];
const chatBody = (text: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], ...extra });
const post = (path: string, body: string, headers: Array<[string, string]> = []) => exchange(h.reprise.url, 'POST', path, [...AUTH, ...headers], body);

describe('hits', () => {
  it('Age counts seconds since the entry was stored', async () => {
    const c = h.client();
    await chat(c, ask('Name the largest ocean on Earth.'));
    h.clock.advance(42_000);
    const hit = await chat(c, ask('Name the largest ocean on Earth.'));
    expect(hit.headers.get('age')).toBe('42');
  });

  it('an exact hit is counted in the metrics: a HIT, an exact hit, and the tokens it saved', async () => {
    const c = h.client();
    await chat(c, ask('How many moons does Mars have?'));
    const before = h.reprise.metrics.snapshot();
    const hit = await chat(c, ask('How many moons does Mars have?'));
    expect(hit.headers.get('x-cache-status')).toBe('HIT');
    const after = h.reprise.metrics.snapshot();
    expect(after.requests.HIT - before.requests.HIT).toBe(1);
    expect(after.hits.exact - before.hits.exact).toBe(1);
    expect(after.tokensSaved - before.tokensSaved).toBe(hit.data.usage!.total_tokens);
  });

  it('a semantic hit is counted in the metrics: a HIT, a semantic hit, and the tokens it saved', async () => {
    const c = h.client();
    await chat(c, ask('How do I reset my password?'));
    const before = h.reprise.metrics.snapshot();
    const hit = await chat(c, ask('How can I reset my password?'));
    expect(hit.headers.get('x-cache-match')).toBe('semantic');
    const after = h.reprise.metrics.snapshot();
    expect(after.requests.HIT - before.requests.HIT).toBe(1);
    expect(after.hits.semantic - before.hits.semantic).toBe(1);
    expect(after.tokensSaved - before.tokensSaved).toBe(hit.data.usage!.total_tokens);
  });

  it('an entry deleted from the store, or expired after the default TTL, is not served, even to a request seen before byte for byte', async () => {
    const c = h.client();
    await chat(c, ask('What is the boiling point of water at sea level?'));
    expect((await chat(c, ask('What is the boiling point of water at sea level?'))).headers.get('x-cache-status')).toBe('HIT');
    await h.reprise.store.purge({});
    expect((await chat(c, ask('What is the boiling point of water at sea level?'))).headers.get('x-cache-status')).toBe('MISS');
    h.clock.advance(TTL_MS + 1000);
    expect((await chat(c, ask('What is the boiling point of water at sea level?'))).headers.get('x-cache-status')).toBe('MISS');
    expect(h.up.count()).toBe(3);
  });
});

interface ChatJson {
  id: string;
  created: number;
  model: string;
  system_fingerprint?: string;
  choices: Array<{ message: { content: string }; finish_reason: string }>;
  usage: unknown;
}
interface TextJson {
  id: string;
  created: number;
  model: string;
  choices: Array<{ text: string; finish_reason: string }>;
  usage: unknown;
}

const sse = (frames: unknown[]) => `${frames.map((f) => `data: ${JSON.stringify(f)}\n\n`).join('')}data: [DONE]\n\n`;

/** OpenAI's stream for a one-choice chat answer: a role chunk, the content, the finish, the usage when asked for. */
function chatStream(c: ChatJson, includeUsage: boolean): string {
  const head = { id: c.id, object: 'chat.completion.chunk', created: c.created, model: c.model, system_fingerprint: c.system_fingerprint ?? null };
  const u = includeUsage ? { usage: null } : {};
  const ch = c.choices[0]!;
  return sse([
    { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], ...u },
    { ...head, choices: [{ index: 0, delta: { content: ch.message.content }, logprobs: null, finish_reason: null }], ...u },
    { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: ch.finish_reason }], ...u },
    ...(includeUsage ? [{ ...head, choices: [], usage: c.usage }] : []),
  ]);
}

/** OpenAI's stream for a one-choice legacy completion: the text, then the finish. */
function textStream(c: TextJson): string {
  const head = { id: c.id, object: 'text_completion', created: c.created, model: c.model, system_fingerprint: null };
  const ch = c.choices[0]!;
  return sse([
    { ...head, choices: [{ index: 0, text: ch.text, logprobs: null, finish_reason: null }] },
    { ...head, choices: [{ index: 0, text: '', logprobs: null, finish_reason: ch.finish_reason }] },
  ]);
}

const byName = (a: [string, unknown], b: [string, unknown]) => a[0].localeCompare(b[0]);

/** A hit is exactly these header lines (Date and Connection aside), in any order, and exactly this body. */
function expectHit(r: RawResponse, want: { match: 'exact' | 'semantic'; age: number; sse: boolean; body: string; id?: string }): void {
  expect(r.statusLine).toBe('HTTP/1.1 200 OK');
  const lines: Array<[string, unknown]> = [
    ['x-cache-status', 'HIT'],
    ['x-cache-match', want.match],
    ['x-cache-similarity', want.match === 'exact' ? '1.0000' : expect.stringMatching(/^0\.9\d{3}$/)],
    ['x-cache-id', want.id ?? expect.stringMatching(/^[0-9a-f]{64}\.([0-9a-f]{64}|-)$/)],
    ['age', String(want.age)],
    ['content-type', want.sse ? 'text/event-stream; charset=utf-8' : 'application/json'],
    ...(want.sse ? [['cache-control', 'no-cache'] as [string, string]] : []),
    ['content-length', String(Buffer.byteLength(want.body))],
  ];
  expect([...r.lines].sort(byName)).toEqual(lines.sort(byName));
  expect(r.text).toBe(want.body);
}

describe('hits on the wire', () => {
  it('an exact hit is the stored answer in the form asked for, with the hit headers and its length, and so is a repeat of it', async () => {
    const question = 'What is the capital of Norway?';
    const json = await post('/v1/chat/completions', chatBody(question));
    expect(json.header('x-cache-status')).toBe('MISS');
    const answer = JSON.parse(json.text) as ChatJson;
    h.clock.advance(3_000);
    const jsonHit = await post('/v1/chat/completions', chatBody(question));
    expectHit(jsonHit, { match: 'exact', age: 3, sse: false, body: json.text });
    const id = jsonHit.header('x-cache-id')!;

    // The stream forms of the same question hit the same entry; the first of each is parsed, its repeat is known by its bytes.
    let age = 3;
    for (const includeUsage of [false, true]) {
      const body = chatBody(question, { stream: true, ...(includeUsage && { stream_options: { include_usage: true } }) });
      for (let i = 0; i < 2; i++) {
        expectHit(await post('/v1/chat/completions', body), { match: 'exact', age, sse: true, body: chatStream(answer, includeUsage), id });
        h.clock.advance(3_000);
        age += 3;
      }
    }

    const prompt = JSON.stringify({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi to Oslo' });
    const text = await post('/v1/completions', prompt);
    expect(text.header('x-cache-status')).toBe('MISS');
    h.clock.advance(3_000);
    const textHit = await post('/v1/completions', prompt);
    expectHit(textHit, { match: 'exact', age: 3, sse: false, body: text.text });
    const streamed = JSON.stringify({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi to Oslo', stream: true });
    for (const age of [3, 6]) {
      expectHit(await post('/v1/completions', streamed), { match: 'exact', age, sse: true, body: textStream(JSON.parse(text.text) as TextJson), id: textHit.header('x-cache-id')! });
      h.clock.advance(3_000);
    }

    const input = JSON.stringify({ model: 'text-embedding-3-small', input: 'fjords' });
    const vectors = await post('/v1/embeddings', input);
    expect(vectors.header('x-cache-status')).toBe('MISS');
    h.clock.advance(3_000);
    expectHit(await post('/v1/embeddings', input), { match: 'exact', age: 3, sse: false, body: vectors.text });

    expect(h.up.count()).toBe(3); // the JSON and stream forms of one question share an entry
  });

  it('a semantic hit is the stored answer in the form asked for, with its similarity', async () => {
    const stored = await post('/v1/chat/completions', chatBody('How do I reset my password?'));
    const answer = JSON.parse(stored.text) as ChatJson;
    h.clock.advance(5_000);
    const reworded = 'How can I reset my password?';
    const hit = await post('/v1/chat/completions', chatBody(reworded));
    expectHit(hit, { match: 'semantic', age: 5, sse: false, body: stored.text });
    const id = hit.header('x-cache-id')!;
    for (const includeUsage of [false, true]) {
      const body = chatBody(reworded, { stream: true, ...(includeUsage && { stream_options: { include_usage: true } }) });
      expectHit(await post('/v1/chat/completions', body), { match: 'semantic', age: 5, sse: true, body: chatStream(answer, includeUsage), id });
    }
    expect(h.up.count()).toBe(1);
  });
});

describe('one lookup per request', () => {
  let s: Harness;
  const store = new FlakyStore({ now: () => s.clock.now() });
  beforeAll(async () => {
    s = await startHarness({}, { store });
  });
  afterAll(() => s?.close());

  it('a request that does not hit is searched once, goes upstream once, and is stored', async () => {
    const c = s.client();
    await chat(c, ask('How do I reset my password?'));
    const searches = store.searches;
    const other = await chat(c, ask('What is the boiling point of water at sea level?'));
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    expect(store.searches - searches).toBe(1);
    expect(s.up.count()).toBe(2);
    const again = await chat(c, ask('What is the boiling point of water at sea level?'));
    expect(again.headers.get('x-cache-status')).toBe('HIT');
  });
});
