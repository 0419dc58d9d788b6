import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { AutoTokenizer, env, pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  makeTinyModel,
  TINY_MODEL_HIDDEN_SIZE as DIM,
  TINY_MODEL_VOCAB_SIZE,
} from '../fixtures/tiny-model/make-tiny-model.js';

let root: string;
let modelDir: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'reprise-tiny-model-'));
  modelDir = await makeTinyModel(path.join(root, 'tiny-bert'));

  // Offline: only the local folder may be read. An absolute path is not a valid Hub id, so
  // transformers.js reads `${modelDir}/${file}` as is (env.localModelPath is not consulted).
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function rows(t: { dims: number[]; data: ArrayLike<number> }): number[][] {
  const [n, d] = t.dims;
  return Array.from({ length: n }, (_, i) => Array.from(t.data).slice(i * d, (i + 1) * d));
}
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

describe('tiny model fixture', () => {
  it('is idempotent and fast', async () => {
    const start = Date.now();
    await expect(makeTinyModel(modelDir)).resolves.toBe(modelDir);
    expect(Date.now() - start).toBeLessThan(5_000);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model_quantized.onnx']) {
      expect((await stat(path.join(modelDir, f))).size).toBeGreaterThan(0);
    }
  });

  it('has a working BERT tokenizer', async () => {
    const tok = await AutoTokenizer.from_pretrained(modelDir);
    const enc = tok('Hello, World!', { return_tensor: false }) as unknown as Record<string, number[]>;
    const tokens = tok.tokenize('Hello, World! cats');
    expect(tokens).toEqual(['hello', ',', 'world', '!', 'cat', '##s']);
    expect(enc.input_ids[0]).toBe(tok.convert_tokens_to_ids('[CLS]'));
    expect(enc.input_ids.at(-1)).toBe(tok.convert_tokens_to_ids('[SEP]'));
    expect(enc.token_type_ids).toEqual(new Array(enc.input_ids.length).fill(0));
    const unk = tok('zyzzyva', { return_tensor: false }) as unknown as Record<string, number[]>;
    expect(unk.input_ids).toEqual(tok.convert_tokens_to_ids(['[CLS]', '[UNK]', '[SEP]']));
    expect(Math.max(...enc.input_ids)).toBeLessThan(TINY_MODEL_VOCAB_SIZE);
  });

  const sentences = ['What is the weather in Paris today?', 'Explain how a semantic cache works.'];
  const embeddings: Record<string, number[][]> = {};

  for (const dtype of ['q8', 'fp32'] as const) {
    it(`embeds with transformers.js feature-extraction (dtype ${dtype})`, async () => {
      const extractor = (await pipeline('feature-extraction', modelDir, { dtype })) as FeatureExtractionPipeline;
      try {
        const out = await extractor(sentences, { pooling: 'mean', normalize: true });
        expect(out.dims).toEqual([2, DIM]);
        const [a, b] = rows(out);
        for (const v of [a, b]) expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 5);

        // Identical input -> identical vector (also across batch composition / padding).
        const again = rows(await extractor([sentences[0]], { pooling: 'mean', normalize: true }));
        expect(again[0]).toEqual(a);

        // Different sentences -> clearly different vectors.
        expect(dot(a, b)).toBeLessThan(0.9);

        // Shared words -> more similar than unrelated text (bag-of-words model).
        const [near] = rows(await extractor(['weather in Paris today'], { pooling: 'mean', normalize: true }));
        expect(dot(a, near)).toBeGreaterThan(dot(b, near));

        embeddings[dtype] = [a, b];
      } finally {
        await extractor.dispose();
      }
    });
  }

  it('q8 (model_quantized.onnx) and fp32 (model.onnx) are different files with close outputs', () => {
    expect(embeddings.q8 && embeddings.fp32).toBeTruthy();
    for (let i = 0; i < 2; i++) {
      expect(embeddings.q8[i]).not.toEqual(embeddings.fp32[i]);
      expect(dot(embeddings.q8[i], embeddings.fp32[i])).toBeGreaterThan(0.999);
    }
  });
});
