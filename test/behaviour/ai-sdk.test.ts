/**
 * The Vercel AI SDK through Reprise: its default OpenAI provider speaks the Responses API, its Anthropic provider the
 * Messages API. A repeated call is served from the cache, JSON and streamed, and the SDK reads the hit as it read
 * the original.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useHarness } from '../helpers/harness.js';

const h = useHarness();

const openai = () => createOpenAI({ apiKey: 'sk-ai-sdk', baseURL: `${h.reprise.url}/v1` });
const anthropic = () => createAnthropic({ apiKey: 'sk-ant-ai-sdk', baseURL: `${h.reprise.url}/v1` });
const cache = (headers: Record<string, string> | undefined) => [headers?.['x-cache-status'], headers?.['x-cache-match']];

/** streamText, read to the end: its text, tool calls and the response headers. */
async function streamed(args: Parameters<typeof streamText>[0]) {
  const result = streamText(args);
  let text = '';
  for await (const delta of result.textStream) text += delta;
  return { text, toolCalls: await result.toolCalls, headers: (await result.response).headers };
}

describe('the Vercel AI SDK', () => {
  it('the default OpenAI provider speaks the Responses API, and a repeated call is an exact hit', async () => {
    const model = openai()('gpt-4o-mini');
    const first = await generateText({ model, prompt: 'What is the capital of Australia?' });
    expect(h.up.calls.map((c) => c.path)).toEqual(['/v1/responses']);
    expect(cache(first.response.headers)).toEqual(['MISS', undefined]);
    const again = await generateText({ model, prompt: 'What is the capital of Australia?' });
    expect(cache(again.response.headers)).toEqual(['HIT', 'exact']);
    expect(again.text).toBe(first.text);
    expect(again.usage).toEqual(first.usage);
    expect(h.up.count('/responses')).toBe(1);
  });

  it('streamText reads a hit replayed as the typed events, and a reworded prompt is a semantic hit', async () => {
    const model = openai()('gpt-4o-mini');
    const first = await streamed({ model, prompt: 'How do I reset my password?' });
    expect(first.headers?.['x-cache-status']).toBe('MISS');
    const replay = await streamed({ model, prompt: 'How do I reset my password?' });
    expect(cache(replay.headers)).toEqual(['HIT', 'exact']);
    expect(replay.text).toBe(first.text);
    const reworded = await generateText({ model, prompt: 'How can I reset my password?' });
    expect(cache(reworded.response.headers)).toEqual(['HIT', 'semantic']);
    expect(reworded.text).toBe(first.text);
    expect(h.up.count('/responses')).toBe(1);
  });

  it('tool calls come back the same from the cache, as JSON and streamed', async () => {
    const model = openai()('gpt-4o-mini');
    const tools = { get_weather: tool({ description: 'The weather in a city', inputSchema: z.object({ city: z.string() }) }) };
    const prompt = "What's the weather in Paris and Rome?";
    const first = await generateText({ model, prompt, tools });
    expect(first.toolCalls.map((c) => c.input)).toEqual([{ city: 'Paris' }, { city: 'Rome' }]);
    const again = await generateText({ model, prompt, tools });
    expect(cache(again.response.headers)).toEqual(['HIT', 'exact']);
    expect(again.toolCalls).toEqual(first.toolCalls);
    const stream = await streamed({ model, prompt, tools });
    expect(stream.headers?.['x-cache-status']).toBe('HIT');
    expect(stream.toolCalls.map((c) => [c.toolCallId, c.toolName, c.input])).toEqual(first.toolCalls.map((c) => [c.toolCallId, c.toolName, c.input]));
    expect(h.up.count('/responses')).toBe(1);
  });

  it('the Anthropic provider speaks Messages, and is cached the same way, JSON and streamed', async () => {
    const model = anthropic()('claude-sonnet-4-5');
    const first = await generateText({ model, prompt: 'Name the largest ocean.' });
    expect(h.up.calls.map((c) => c.path)).toEqual(['/v1/messages']);
    const again = await generateText({ model, prompt: 'Name the largest ocean.' });
    expect(cache(again.response.headers)).toEqual(['HIT', 'exact']);
    expect(again.text).toBe(first.text);
    const stream = await streamed({ model, prompt: 'Name the largest ocean.' });
    expect(stream.headers?.['x-cache-status']).toBe('HIT');
    expect(stream.text).toBe(first.text);
    expect(h.up.count('/messages')).toBe(1);
  });
});
