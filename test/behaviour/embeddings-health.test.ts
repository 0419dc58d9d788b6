/** /v1/embeddings is cached on exact match only. (/healthz while the embedder loads: healthz-loading.test.ts.) */
import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/harness.js';

const h = useHarness();

describe('/v1/embeddings', () => {
  it('an identical request is an exact hit; a different input is a miss, however similar', async () => {
    const c = h.client();
    const first = await c.embeddings.create({ model: 'text-embedding-3-small', input: 'The quick brown fox' }).withResponse();
    expect(first.response.headers.get('x-cache-status')).toBe('MISS');
    const again = await c.embeddings.create({ model: 'text-embedding-3-small', input: 'The quick brown fox' }).withResponse();
    expect(again.response.headers.get('x-cache-status')).toBe('HIT');
    expect(again.response.headers.get('x-cache-match')).toBe('exact');
    expect(again.data.data[0]!.embedding).toEqual(first.data.data[0]!.embedding);
    const similar = await c.embeddings.create({ model: 'text-embedding-3-small', input: 'The quick brown fox.' }).withResponse();
    expect(similar.response.headers.get('x-cache-status')).toBe('MISS');
    expect(h.up.count('/embeddings')).toBe(2);
  });
});
