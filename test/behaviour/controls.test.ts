/**
 * Request controls: Cache-Control no-store / no-cache, x-cache-ttl / -threshold / -namespace. The ones that need the
 * FakeClock (max-age, TTL) are in controls-clock.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { APIError } from 'openai';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness({ ttl: '3600' });

describe('Cache-Control', () => {
  it('no-store neither reads nor writes the cache', async () => {
    const c = h.client();
    await chat(c, ask('What is the capital of Peru?'));
    const r = await chat(c, ask('What is the capital of Peru?'), { 'cache-control': 'no-store' });
    expect(r.headers.get('x-cache-status')).toBe('BYPASS');
    expect(r.headers.get('x-cache-reason')).toBe('no-store');
    expect(h.up.count()).toBe(2);
    await chat(c, ask('What is the boiling point of ethanol?'), { 'cache-control': 'no-store' });
    const after = await chat(c, ask('What is the boiling point of ethanol?'));
    expect(after.headers.get('x-cache-status')).toBe('MISS');
  });

  it('no-cache skips the cached answer but stores the fresh one in its place', async () => {
    const c = h.client();
    const old = await chat(c, ask('Who painted the Mona Lisa?'));
    const fresh = await chat(c, ask('Who painted the Mona Lisa?'), { 'cache-control': 'no-cache' });
    expect(fresh.headers.get('x-cache-status')).toBe('BYPASS');
    expect(fresh.headers.get('x-cache-reason')).toBe('no-cache');
    expect(fresh.data.choices[0]!.message.content).not.toBe(old.data.choices[0]!.message.content);
    const next = await chat(c, ask('Who painted the Mona Lisa?'));
    expect(next.headers.get('x-cache-status')).toBe('HIT');
    expect(next.data.choices[0]!.message.content).toBe(fresh.data.choices[0]!.message.content);
    expect(h.reprise.store.size()).toBe(1);
  });
});

describe('x-cache-* headers', () => {
  it('x-cache-threshold raises the bar for a semantic hit', async () => {
    const c = h.client();
    await chat(c, ask('How do I reset my password?'));
    const strict = await chat(c, ask('How can I reset my password?'), { 'x-cache-threshold': '0.999' });
    expect(strict.headers.get('x-cache-status')).toBe('MISS');
    const normal = await chat(c, ask('How can I reset my password?'));
    expect(normal.headers.get('x-cache-status')).toBe('HIT');
  });

  it('x-cache-namespace partitions the cache', async () => {
    const c = h.client();
    await chat(c, ask('What is the largest desert?'), { 'x-cache-namespace': 'app-a' });
    expect((await chat(c, ask('What is the largest desert?'), { 'x-cache-namespace': 'app-b' })).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(c, ask('What is the largest desert?'))).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(c, ask('What is the largest desert?'), { 'x-cache-namespace': 'app-a' })).headers.get('x-cache-status')).toBe('HIT');
    expect(h.up.count()).toBe(3);
  });

  it('x-cache-namespace partitions semantic hits too', async () => {
    const c = h.client();
    await chat(c, ask('How do I reset my password?'), { 'x-cache-namespace': 'team-a' });
    expect((await chat(c, ask('How can I reset my password?'), { 'x-cache-namespace': 'team-b' })).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(c, ask('How can I reset my password, please?'))).headers.get('x-cache-status')).toBe('MISS');
    const same = await chat(c, ask('How can I reset my password?'), { 'x-cache-namespace': 'team-a' });
    expect(same.headers.get('x-cache-status')).toBe('HIT');
    expect(same.headers.get('x-cache-match')).toBe('semantic');
    expect(h.up.count()).toBe(3);
  });

  it('x-cache-ttl on a repeated request still reads the cache; a malformed control on one is a 400, not a hit', async () => {
    const c = h.client();
    await chat(c, ask('Name a prime number above ninety.'));
    expect((await chat(c, ask('Name a prime number above ninety.'), { 'x-cache-ttl': '60' })).headers.get('x-cache-status')).toBe('HIT');
    const err = (await chat(c, ask('Name a prime number above ninety.'), { 'x-cache-threshold': '2' }).catch((e: unknown) => e)) as APIError;
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(400);
    expect(err.param).toBe('x-cache-threshold');
    expect(h.up.count()).toBe(1);
  });

  it('x-cache-* headers are not forwarded upstream', async () => {
    await chat(h.client(), ask('What is the smallest country?'), { 'x-cache-namespace': 'app-a', 'x-cache-ttl': '60' });
    expect(h.up.calls[0]!.headers['x-cache-namespace']).toBeUndefined();
    expect(h.up.calls[0]!.headers['x-cache-ttl']).toBeUndefined();
    expect(h.up.calls[0]!.headers.authorization).toBe('Bearer sk-test-a');
  });

  it.each([
    ['x-cache-threshold', '1.5'],
    ['x-cache-ttl', 'soon'],
    ['x-cache-namespace', 'bad namespace!'],
    ['cache-control', 'max-age=abc'],
  ])('a malformed %s is a 400 that names it', async (name, value) => {
    const err = (await chat(h.client(), ask('Anything'), { [name]: value }).catch((e: unknown) => e)) as APIError;
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(400);
    expect(err.param).toBe(name);
    expect(err.type).toBe('invalid_request_error');
    expect(h.up.count()).toBe(0);
  });

  it('a malformed x-cache-ttl is a 400 even on a no-store request, which does not use the cache', async () => {
    const err = (await chat(h.client(), ask('Anything'), { 'cache-control': 'no-store', 'x-cache-ttl': 'soon' }).catch((e: unknown) => e)) as APIError;
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(400);
    expect(err.param).toBe('x-cache-ttl');
    expect(err.type).toBe('invalid_request_error');
    expect(h.up.count()).toBe(0);
  });
});
