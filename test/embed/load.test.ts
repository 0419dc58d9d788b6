/**
 * @module test/embed/load: the real load path. transformers.js on the tiny fixture model, the fallback to the
 * bundled USE-lite when a model cannot be loaded, and USE-lite's semantics. Offline: no network is touched.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { loadEmbedder } from '../../src/embed/load.js';
import { loadTransformers } from '../../src/embed/transformers.js';
import type { Embedder } from '../../src/embed/types.js';
import { loadUseLite } from '../../src/embed/use-lite.js';
import { UseLiteThreads } from '../../src/embed/use-lite-thread.js';
import type { Logger } from '../../src/observe/logger.js';
import { makeTinyModel, TINY_MODEL_HIDDEN_SIZE } from '../fixtures/tiny-model/make-tiny-model.js';

const MISSING_MODEL = '/nonexistent/folder-or-id';

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
const norm = (v: Float32Array) => Math.sqrt(dot(v, v));

interface LogCall {
  level: keyof Logger;
  obj: Record<string, unknown>;
  msg: string | undefined;
}
function recordingLogger(): Logger & { calls: LogCall[] } {
  const calls: LogCall[] = [];
  const at = (level: keyof Logger) => (obj: Record<string, unknown>, msg?: string) => void calls.push({ level, obj, msg });
  return { calls, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

let root: string;
let modelDir: string;
let cacheDir: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'reprise-embed-load-'));
  modelDir = await makeTinyModel(path.join(root, 'tiny-bert'));
  cacheDir = path.join(root, 'cache');
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('loadTransformers (tiny local model)', () => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await loadTransformers({ model: modelDir, cacheDir });
  });

  it('describes the model: dim 32, an id naming the folder, a threshold in (0, 1)', () => {
    expect(embedder.dim).toBe(TINY_MODEL_HIDDEN_SIZE);
    expect(embedder.id).toContain(modelDir);
    expect(embedder.id).toBe(`transformers/${modelDir}@q8`);
    expect(typeof embedder.defaultThreshold).toBe('number');
    expect(embedder.defaultThreshold).toBeGreaterThan(0);
    expect(embedder.defaultThreshold).toBeLessThan(1);
  });

  it('embeds each text to its own 32-d unit vector, the same alone or in a batch', async () => {
    const texts = ['What is the weather in Paris today?', 'Explain how a semantic cache works.', 'hello world'];
    const batch = await embedder.embed(texts);
    expect(batch).toHaveLength(3);
    for (const v of batch) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(32);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    for (let i = 0; i < texts.length; i++) {
      const [alone] = await embedder.embed([texts[i]!]);
      expect(dot(alone!, batch[i]!)).toBeCloseTo(1, 5);
    }
    // Shared words make texts closer (the fixture is a bag-of-words model).
    const [near] = await embedder.embed(['weather in Paris today']);
    expect(dot(near!, batch[0]!)).toBeGreaterThan(dot(near!, batch[1]!));
    expect(await embedder.embed([])).toEqual([]);
  });

  it('loads the fp32 weights when asked', async () => {
    const fp32 = await loadTransformers({ model: modelDir, cacheDir, dtype: 'fp32' });
    expect(fp32.id).toBe(`transformers/${modelDir}@fp32`);
    const [a] = await fp32.embed(['hello world']);
    const [b] = await embedder.embed(['hello world']);
    expect(dot(a!, b!)).toBeGreaterThan(0.999);
  });

  it('fails fast, without the network, for a path that does not exist', async () => {
    const start = Date.now();
    await expect(loadTransformers({ model: MISSING_MODEL, cacheDir })).rejects.toThrow();
    expect(Date.now() - start).toBeLessThan(3_000);
  });
});

describe('loadEmbedder', () => {
  it('falls back to the bundled USE-lite, with a warning, when the model cannot be loaded', { timeout: 10_000 }, async () => {
    const logger = recordingLogger();
    const start = Date.now();
    const embedder = await loadEmbedder({ model: MISSING_MODEL, cacheDir, logger });
    expect(Date.now() - start).toBeLessThan(8_000);

    expect(embedder.id).toBe('bundled/use-lite@1');
    expect(embedder.dim).toBe(512);
    const warnings = logger.calls.filter((c) => c.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.obj.model).toBe(MISSING_MODEL);
    expect(warnings[0]!.msg).toMatch(/fall/i);

    const [v] = await embedder.embed(['How do I reset my password?']);
    expect(v!.length).toBe(512);
    expect(norm(v!)).toBeCloseTo(1, 4);
  });

  it("loads USE-lite directly for 'bundled', with no warning", { timeout: 10_000 }, async () => {
    const logger = recordingLogger();
    const embedder = await loadEmbedder({ model: 'bundled', cacheDir, logger });
    expect(embedder.id).toBe('bundled/use-lite@1');
    expect(embedder.dim).toBe(512);
    expect(logger.calls.filter((c) => c.level === 'warn' || c.level === 'error')).toEqual([]);
    expect(logger.calls.some((c) => c.level === 'info' && c.obj.embedder === 'bundled/use-lite@1')).toBe(true);
  });

  it('runs one batch per worker thread at once on the bundled model', { timeout: 20_000 }, async () => {
    // Counts the pool's calls in flight from outside: the batcher and the pool are behind the memo.
    let inFlight = 0;
    let most = 0;
    const embed = UseLiteThreads.prototype.embed;
    const spy = vi.spyOn(UseLiteThreads.prototype, 'embed').mockImplementation(function (this: UseLiteThreads, texts: string[]) {
      most = Math.max(most, ++inFlight);
      return embed.call(this, texts).finally(() => inFlight--);
    });
    try {
      const logger = recordingLogger();
      const embedder = await loadEmbedder({ model: 'bundled', cacheDir, logger, threads: 2 });
      expect(logger.calls.find((c) => c.obj.embedder === 'bundled/use-lite@1')!.obj.threads).toBe(2);
      // 16 texts in one tick: batches of 4, two of them at a time.
      const texts = Array.from({ length: 16 }, (_, i) => `question ${i}: what is the tallest mountain in country ${i}?`);
      const vectors = await Promise.all(texts.map((t) => embedder.embed([t])));
      expect(vectors.every(([v]) => v!.length === 512)).toBe(true);
      expect(most).toBe(2);
      expect(spy).toHaveBeenCalledTimes(4);
    } finally {
      spy.mockRestore();
    }
  });

  it('uses transformers.js when the model loads, with no warning', async () => {
    const logger = recordingLogger();
    const embedder = await loadEmbedder({ model: modelDir, cacheDir, logger });
    expect(embedder.id).toBe(`transformers/${modelDir}@q8`);
    expect(embedder.dim).toBe(32);
    expect(logger.calls.filter((c) => c.level === 'warn' || c.level === 'error')).toEqual([]);
    const [a, b] = await embedder.embed(['hello world', 'hello world']);
    expect(Array.from(a!)).toEqual(Array.from(b!));
  });
});

describe('USE-lite (bundled)', () => {
  let use: Embedder;
  beforeAll(async () => {
    use = await loadUseLite();
  });

  it('is 512-d with the bundled id and a threshold in (0, 1)', () => {
    expect(use.id).toBe('bundled/use-lite@1');
    expect(use.dim).toBe(512);
    expect(use.defaultThreshold).toBeGreaterThan(0);
    expect(use.defaultThreshold).toBeLessThan(1);
  });

  it('returns unit vectors, one per text, in order', async () => {
    const texts = ['How do I reset my password?', 'What is the boiling point of water?', 'Tell me a joke.'];
    const vectors = await use.embed(texts);
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v.length).toBe(512);
      expect(norm(v)).toBeCloseTo(1, 4);
    }
    const [again] = await use.embed([texts[1]!]);
    expect(dot(again!, vectors[1]!)).toBeCloseTo(1, 4);
    expect(dot(again!, vectors[0]!)).toBeLessThan(0.99);
    expect(await use.embed([])).toEqual([]);
  });

  it('scores a paraphrase above an unrelated sentence', async () => {
    const [q, paraphrase, unrelated] = await use.embed([
      'How do I reset my password?',
      "What's the way to change my password?",
      'What is the boiling point of water?',
    ]);
    const para = dot(q!, paraphrase!);
    const other = dot(q!, unrelated!);
    expect(para).toBeGreaterThan(other);
    expect(para - other).toBeGreaterThan(0.1);
  });
});
