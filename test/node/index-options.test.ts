/** @module test/node/index-options: --index-quantization reaches the vector index the store is given. */
import { describe, expect, it } from 'vitest';

import { parseConfig } from '../../src/config.js';
import { indexOptions } from '../../src/node/server.js';
import { HnswIndex } from '../../src/store/hnsw-index.js';

describe('indexOptions', () => {
  it.each([
    [{}, {}, 'f32'],
    [{ 'index-quantization': 'i8' }, {}, 'i8'],
    [{}, { INDEX_QUANTIZATION: 'i8' }, 'i8'],
    [{ 'index-quantization': 'f32' }, { INDEX_QUANTIZATION: 'i8' }, 'f32'],
  ] as const)('flags %j, env %j: the large index stores %s', (flags, env, quantization) => {
    const opts = indexOptions(parseConfig(flags, env));
    const index = opts.largeIndex(8);
    expect(index).toBeInstanceOf(HnswIndex);
    expect((index as HnswIndex).quantization).toBe(quantization);
  });

  it('passes --hnsw-min on', () => {
    expect(indexOptions(parseConfig({ 'hnsw-min': '64' }, {})).hnswMin).toBe(64);
  });
});
