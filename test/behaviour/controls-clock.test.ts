/** Request controls read against the clock: Cache-Control max-age, and TTL (--ttl, x-cache-ttl). Split from controls.test.ts. */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness({ ttl: '3600' });

describe('Cache-Control', () => {
  it('max-age serves only entries young enough', async () => {
    const c = h.client();
    await chat(c, ask('How many bones are in the human body?'));
    h.clock.advance(120_000);
    const tooOld = await chat(c, ask('How many bones are in the human body?'), { 'cache-control': 'max-age=60' });
    expect(tooOld.headers.get('x-cache-status')).toBe('MISS');
    const young = await chat(c, ask('How many bones are in the human body?'), { 'cache-control': 'max-age=60' });
    expect(young.headers.get('x-cache-status')).toBe('HIT');
    // the fresh answer took the old one's place
    expect(young.headers.get('age')).toBe('0');
    const plain = await chat(c, ask('How many bones are in the human body?'));
    expect(plain.headers.get('x-cache-status')).toBe('HIT');
    expect(plain.headers.get('age')).toBe('0');
  });
});

describe('TTL', () => {
  it('an entry stops hitting after its TTL, counted from storing, and a hit does not extend it', async () => {
    const c = h.client();
    await chat(c, ask('What is the chemical symbol for gold?'));
    h.clock.advance(3_000_000);
    expect((await chat(c, ask('What is the chemical symbol for gold?'))).headers.get('x-cache-status')).toBe('HIT');
    h.clock.advance(600_001);
    expect((await chat(c, ask('What is the chemical symbol for gold?'))).headers.get('x-cache-status')).toBe('MISS');
    expect(h.up.count()).toBe(2);
  });

  it('x-cache-ttl sets the TTL of the stored answer', async () => {
    const c = h.client();
    await chat(c, ask('What is the square root of sixty four?'), { 'x-cache-ttl': '10' });
    h.clock.advance(9_000);
    expect((await chat(c, ask('What is the square root of sixty four?'))).headers.get('x-cache-status')).toBe('HIT');
    h.clock.advance(2_000);
    expect((await chat(c, ask('What is the square root of sixty four?'))).headers.get('x-cache-status')).toBe('MISS');
  });
});
