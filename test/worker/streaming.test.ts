/**
 * Streams through the Worker in workerd: a miss reaches the client as the upstream sends it, before the upstream has
 * finished; a hit replays the stored answer as SSE that the openai SDK's stream parser reads back to the same text.
 */
import { createExecutionContext, waitOnExecutionContext, type ExecutionContext } from 'cloudflare:test';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../../src/openai/sse-parse.js';
import worker from '../../src/worker.js';
import { cacheHeaders, chat, fetchWorker, post, release, upstreamCalls, world, type TestWorld } from './harness.js';

/** SSE text as events, each data parsed as JSON ([DONE] left out). */
function events(text: string): Array<SseEvent & { json: Record<string, unknown> }> {
  const parser = new SseParser();
  const all = [...parser.push(new TextEncoder().encode(text)), ...parser.end()];
  return all.filter((e) => e.data !== '[DONE]').map((e) => ({ ...e, json: JSON.parse(e.data) as Record<string, unknown> }));
}

/** The text a chat completion stream carries. */
function chatText(text: string): string {
  return events(text)
    .map((e) => (e.json.choices as Array<{ delta?: { content?: string } }> | undefined)?.[0]?.delta?.content ?? '')
    .join('');
}

/**
 * An openai client whose requests go to the Worker's fetch. `settled()` waits for the waitUntil work of every
 * request it sent (call it once a stream has been read to its end).
 */
function sdkClient(w: TestWorld): { client: OpenAI; settled: () => Promise<void> } {
  const contexts: ExecutionContext[] = [];
  const client = new OpenAI({
    apiKey: `sk-${w.run}`,
    baseURL: 'https://reprise.test/v1',
    maxRetries: 0,
    defaultHeaders: { 'x-fake-run': w.run },
    fetch: async (url: RequestInfo | URL, init?: RequestInit) => {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      return worker.fetch(new Request(url, init), w.env, ctx);
    },
  });
  return { client, settled: async () => void (await Promise.all(contexts.map((c) => waitOnExecutionContext(c)))) };
}

describe('a streamed miss', () => {
  it('reaches the client while the upstream is still sending, and is stored once it has ended', async () => {
    const w = world();
    const hold = `hold-${w.run}`;
    const question = chat('Describe the water cycle in one sentence.', { stream: true });
    const ctx = createExecutionContext();
    // The upstream sends its first words, then holds the rest until released.
    const res = await worker.fetch(post(w, '/v1/chat/completions', question, { behavior: { hold } }), w.env, ctx);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(cacheHeaders(res).status).toBe('MISS');

    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!/"content":"[^"]+"/.test(text)) {
      const r = await reader.read();
      expect(r.done).toBe(false);
      text += decoder.decode(r.value, { stream: true });
    }
    // The first words are here, and the upstream's call has not finished: they were not buffered.
    const during = await upstreamCalls(w);
    expect(during).toHaveLength(1);
    expect(during[0]!.finished).toBe(false);

    await release(hold);
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      text += decoder.decode(r.value, { stream: true });
    }
    await waitOnExecutionContext(ctx);
    const after = await upstreamCalls(w);
    expect(after[0]!.finished).toBe(true);
    expect(text).toContain('data: [DONE]');
    const answer = chatText(text);
    expect(answer).toMatch(/^Answer #\d+ to: Describe the water cycle in one sentence\.$/);

    // Stored once it ended: the repeat is a hit with the same text, and the upstream is not called again.
    const hit = await fetchWorker(w, post(w, '/v1/chat/completions', question));
    expect(cacheHeaders(hit)).toMatchObject({ status: 'HIT', match: 'exact' });
    expect(chatText(hit.text)).toBe(answer);
    expect(await upstreamCalls(w)).toHaveLength(1);
  });

  it('a stream the upstream breaks is not stored: the repeat goes upstream again', async () => {
    const w = world();
    const question = chat('List the noble gases.', { stream: true });
    const broken = await fetchWorker(w, post(w, '/v1/chat/completions', question, { behavior: { breakAfterChunks: 2 } }));
    expect(cacheHeaders(broken).status).toBe('MISS');
    expect(broken.text).not.toContain('data: [DONE]');
    const again = await fetchWorker(w, post(w, '/v1/chat/completions', question));
    expect(cacheHeaders(again).status).toBe('MISS');
    expect(again.text).toContain('data: [DONE]');
    expect(await upstreamCalls(w)).toHaveLength(2);
  });
});

describe('a streamed hit', () => {
  it('replays as SSE that the openai SDK reads back to the same text', async () => {
    const w = world();
    const { client, settled } = sdkClient(w);
    const ask = () =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What does a prism do to white light?' }], stream: true }).withResponse();

    const miss = await ask();
    expect(miss.response.headers.get('x-cache-status')).toBe('MISS');
    let missed = '';
    for await (const chunk of miss.data) missed += chunk.choices[0]?.delta?.content ?? '';
    await settled();
    expect(missed).toMatch(/^Answer #\d+ to: What does a prism do to white light\?$/);

    const hit = await ask();
    expect(hit.response.headers.get('x-cache-status')).toBe('HIT');
    expect(hit.response.headers.get('x-cache-match')).toBe('exact');
    expect(hit.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    let replayed = '';
    let finish: string | null | undefined;
    for await (const chunk of hit.data) {
      replayed += chunk.choices[0]?.delta?.content ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
    }
    await settled();
    expect(replayed).toBe(missed);
    expect(finish).toBe('stop');
    expect(await upstreamCalls(w)).toHaveLength(1);
  });

  it('a JSON answer is served to a streaming request as SSE, and a streamed one to a JSON request as JSON', async () => {
    const w = world();
    const body = chat('Who wrote the Odyssey?');
    const json = await fetchWorker(w, post(w, '/v1/chat/completions', body));
    expect(cacheHeaders(json).status).toBe('MISS');
    const answer = json.json<{ choices: Array<{ message: { content: string } }> }>().choices[0]!.message.content;
    const streamed = await fetchWorker(w, post(w, '/v1/chat/completions', { ...body, stream: true }));
    expect(cacheHeaders(streamed)).toMatchObject({ status: 'HIT', match: 'exact' });
    expect(chatText(streamed.text)).toBe(answer);
    expect(await upstreamCalls(w)).toHaveLength(1);
  });

  it('an Anthropic stream replays with its named events', async () => {
    const w = world();
    const body = { model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Why do cats purr?' }] };
    const textOf = (sse: string) =>
      events(sse)
        .filter((e) => e.event === 'content_block_delta')
        .map((e) => (e.json.delta as { text?: string }).text ?? '')
        .join('');
    const miss = await fetchWorker(w, post(w, '/v1/messages', body));
    expect(cacheHeaders(miss).status).toBe('MISS');
    const hit = await fetchWorker(w, post(w, '/v1/messages', body));
    expect(cacheHeaders(hit)).toMatchObject({ status: 'HIT', match: 'exact' });
    expect(events(hit.text).map((e) => e.event)).toContain('message_stop');
    expect(textOf(hit.text)).toBe(textOf(miss.text));
    expect(textOf(hit.text)).toMatch(/^Answer #\d+ to: Why do cats purr\?$/);
    expect(await upstreamCalls(w)).toHaveLength(1);
  });
});
