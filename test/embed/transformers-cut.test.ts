/**
 * The transformers.js embedder finds the cut of a long prompt by tokenising only a head of it: on the server's thread,
 * inside the key builder, a 2 MB prompt costs no more than a short request. Measured on a real BERT tokenizer (the tiny
 * fixture model).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTransformers } from '../../src/embed/transformers.js';
import type { Embedder } from '../../src/embed/types.js';
import { makeTinyModel } from '../fixtures/tiny-model/make-tiny-model.js';

let root: string;
let embedder: Embedder;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'reprise-tiny-'));
  const dir = await makeTinyModel(path.join(root, 'tiny-bert'));
  embedder = await loadTransformers({ model: dir, cacheDir: root });
}, 120_000);
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function prose(n: number): string {
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'hello', 'world', 'river', 'stone'];
  let s = '';
  for (let i = 0; s.length < n; i++) s += `${words[i % words.length]} `;
  return s;
}

describe('how long the key builder holds the event loop for a long prompt (transformers.js)', () => {
  it('finding the cut of a 2 MB prompt takes no longer than one short request', () => {
    const text = prose(2_000_000);
    const t0 = performance.now();
    const cut = embedder.inputLength!(text);
    const ms = performance.now() - t0;
    console.log(`inputLength(${text.length} chars) = ${cut} in ${ms.toFixed(0)} ms of blocked event loop`);
    expect(ms, `the event loop was blocked ${ms.toFixed(0)} ms for one request`).toBeLessThan(250);
  }, 600_000);
});
