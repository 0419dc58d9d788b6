/** The reranker judge (cache/rerank-judge.ts), on the Workers AI stand-in's reranker (word overlap). */
import { describe, expect, it } from 'vitest';
import { RerankJudge } from '../../src/cache/rerank-judge.js';
import { StandInAi } from '../fixtures/workers/stand-ins.js';
import { headersOf } from '../../src/web/request-view.js';

const headers = headersOf(new Headers());

describe('RerankJudge', () => {
  it('says same only at or over its minimum score, and asks the reranker model with the pair', async () => {
    const ai = new StandInAi();
    const judge = new RerankJudge({ run: (m, i) => ai.run(m, i), minScore: 0.6 });
    expect(await judge.judge('how do I reset my password', 'how do I reset my password please', headers, 't')).toBe('same');
    expect(await judge.judge('how do I reset my password', 'how do I delete my account', headers, 't')).toBe('different');
    expect(ai.calls[0]).toEqual({ model: '@cf/baai/bge-reranker-base', inputs: { query: 'how do I reset my password', contexts: [{ text: 'how do I reset my password please' }] } });
  });

  it('remembers verdicts per tenant only', async () => {
    const ai = new StandInAi();
    const judge = new RerankJudge({ run: (m, i) => ai.run(m, i), minScore: 0.5 });
    await judge.judge('a b c', 'a b c d', headers, 't1');
    await judge.judge('a b c', 'a b c d', headers, 't1');
    expect(ai.calls).toHaveLength(1);
    await judge.judge('a b c', 'a b c d', headers, 't2');
    expect(ai.calls).toHaveLength(2);
  });

  it('counts an error, a malformed answer or a timeout as an error, never as same', async () => {
    const failing = new RerankJudge({ run: new StandInAi({ failing: true }).run.bind(new StandInAi({ failing: true })) });
    expect(await failing.judge('a', 'a', headers, 't')).toBe('error');
    expect(await new RerankJudge({ run: async () => ({ response: 'nope' }) }).judge('a', 'a', headers, 't')).toBe('error');
    const slow = new RerankJudge({ run: () => new Promise(() => {}), timeoutMs: 20 });
    expect(await slow.judge('a', 'a', headers, 't')).toBe('error');
  });
});
