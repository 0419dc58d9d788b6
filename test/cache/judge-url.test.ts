/**
 * The LLM judge asks the configured upstream as forwarding does: the base URL's path, then /chat/completions, then the
 * base's own query (an Azure-style `…/v1?api-version=X` upstream).
 */
import { describe, expect, it } from 'vitest';
import { LlmJudge } from '../../src/cache/judge.js';
import type { UpstreamRequest } from '../../src/upstream/types.js';

describe('the judge and an upstream URL with a query', () => {
  it('asks <base path>/chat/completions with the base query, as forwarding does', async () => {
    const urls: string[] = [];
    const judge = new LlmJudge({
      upstream: async (req: UpstreamRequest) => {
        urls.push(req.url);
        return new Response(JSON.stringify({ choices: [{ message: { content: 'same' } }] }), { headers: { 'content-type': 'application/json' } });
      },
      upstreamUrl: 'https://azure.example/openai/deployments/gpt/v1?api-version=2024-10-21',
      model: 'judge-mini',
    });
    const headers = { get: () => undefined, list: () => [['authorization', 'Bearer k']] as Array<[string, string]> };
    await judge.judge('a', 'b', headers, 't');
    const u = new URL(urls[0]!);
    expect(u.pathname).toBe('/openai/deployments/gpt/v1/chat/completions');
    expect(u.searchParams.get('api-version')).toBe('2024-10-21');
  });
});
