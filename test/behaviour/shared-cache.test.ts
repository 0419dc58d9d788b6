/** --shared-cache: one cache for every credential, so an answer stored for one key serves another. */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness({ 'shared-cache': 'true' });

describe('shared-cache mode', () => {
  it('one credential stores, another gets the hit', async () => {
    const first = await chat(h.client('sk-one'), ask('What is the speed of sound in air?'));
    const hit = await chat(h.client('sk-two'), ask('What is the speed of sound in air?'));
    expect(hit.headers.get('x-cache-status')).toBe('HIT');
    expect(hit.headers.get('x-cache-match')).toBe('exact');
    expect(hit.data).toEqual(first.data);
    expect(h.up.count()).toBe(1);
  });
});
