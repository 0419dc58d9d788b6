/** The Workers AI embedder (embed/workers-ai.ts) against the Workers AI stand-in's binding interface. */
import { describe, expect, it } from 'vitest';
import { WorkersAiEmbedder } from '../../src/embed/workers-ai.js';
import { StandInAi, STAND_IN_DIM } from '../fixtures/workers/stand-ins.js';

describe('WorkersAiEmbedder', () => {
  it('names the model and its pooling in its id, since mean and cls vectors do not mix', () => {
    const ai = new StandInAi();
    expect(new WorkersAiEmbedder({ ai }).id).toBe('workers-ai:@cf/baai/bge-small-en-v1.5:mean');
    expect(new WorkersAiEmbedder({ ai, pooling: 'cls' }).id).toBe('workers-ai:@cf/baai/bge-small-en-v1.5:cls');
    expect(new WorkersAiEmbedder({ ai }).dim).toBe(384);
  });

  it('embeds a batch in calls of at most 100 texts, with the pooling asked for, as unit vectors in order', async () => {
    const ai = new StandInAi();
    const e = new WorkersAiEmbedder({ ai, pooling: 'cls' });
    const texts = Array.from({ length: 150 }, (_, i) => `question number ${i}`);
    const vectors = await e.embed(texts);
    expect(ai.calls.map((c) => (c.inputs.text as string[]).length)).toEqual([100, 50]);
    expect(ai.calls.every((c) => c.inputs.pooling === 'cls')).toBe(true);
    expect(vectors).toHaveLength(150);
    for (const v of vectors) expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    const [again] = await e.embed(['question number 7']);
    expect(Array.from(again!)).toEqual(Array.from(vectors[7]!));
    expect(vectors[0]!.length).toBe(STAND_IN_DIM);
  });

  it('fails, rather than return wrong vectors, when Workers AI answers with too few or misshapen ones', async () => {
    const short = new WorkersAiEmbedder({ ai: { run: async () => ({ data: [[1, 0]] }) } });
    await expect(short.embed(['a', 'b'])).rejects.toThrow(/1 vectors for 2 texts/);
    const wrongSize = new WorkersAiEmbedder({ ai: { run: async () => ({ data: [[1, 0]] }) } });
    await expect(wrongSize.embed(['a'])).rejects.toThrow(/wrong size/);
  });

  it('cuts what it embeds at a length the model reads whole', () => {
    const e = new WorkersAiEmbedder({ ai: new StandInAi() });
    expect(e.inputLength('short')).toBe(5);
    expect(e.inputLength('x'.repeat(10_000))).toBeLessThan(2048);
  });
});
