import { describe, expect, it } from 'vitest';
import { readPolicy } from '../../src/cache/policy.js';
import { InvalidRequestError } from '../../src/openai/errors.js';

const TTL = 86400;
const policy = (h: Record<string, string> = {}) => readPolicy(new Headers(h), TTL);

function rejects(h: Record<string, string>): InvalidRequestError {
  try {
    policy(h);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    return err as InvalidRequestError;
  }
  throw new Error(`expected ${JSON.stringify(h)} to be rejected`);
}

describe('readPolicy', () => {
  it('defaults: read and write, the default TTL, no namespace, no max-age, threshold or reason', () => {
    expect(policy()).toEqual({ read: true, write: true, ttl: TTL, namespace: '' });
    expect(readPolicy(new Headers(), 60).ttl).toBe(60);
  });

  it('no-store: neither read nor write', () => {
    expect(policy({ 'cache-control': 'no-store' })).toMatchObject({ read: false, write: false, reason: 'no-store' });
  });

  it('no-cache: no read, but the fresh answer is stored', () => {
    expect(policy({ 'cache-control': 'no-cache' })).toMatchObject({ read: false, write: true, reason: 'no-cache' });
  });

  it('no-store wins over no-cache, directives are case-insensitive and may be combined', () => {
    expect(policy({ 'cache-control': 'No-Cache, NO-STORE' })).toMatchObject({ read: false, write: false, reason: 'no-store' });
  });

  it('max-age=0: no read, write', () => {
    expect(policy({ 'cache-control': 'max-age=0' })).toMatchObject({ read: false, write: true, maxAge: 0, reason: 'max-age=0' });
  });

  it('max-age=60: read entries up to 60 s old', () => {
    const p = policy({ 'cache-control': 'max-age=60' });
    expect(p).toEqual({ read: true, write: true, maxAge: 60, ttl: TTL, namespace: '' });
    expect(policy({ 'cache-control': 'private, max-age="60"' }).maxAge).toBe(60);
  });

  it('unknown Cache-Control directives are ignored', () => {
    expect(policy({ 'cache-control': 'public, must-revalidate' })).toEqual(policy());
  });

  it('x-cache-ttl sets the TTL; 0 means do not store', () => {
    expect(policy({ 'x-cache-ttl': '3600' })).toMatchObject({ ttl: 3600, read: true, write: true });
    expect(policy({ 'x-cache-ttl': '0' })).toMatchObject({ ttl: 0, read: true, write: false });
  });

  it('x-cache-threshold sets the similarity threshold', () => {
    expect(policy({ 'x-cache-threshold': '0.95' }).threshold).toBe(0.95);
    expect(policy({ 'x-cache-threshold': '0' }).threshold).toBe(0);
    expect(policy({ 'x-cache-threshold': '1' }).threshold).toBe(1);
  });

  it('x-cache-namespace sets the namespace', () => {
    expect(policy({ 'x-cache-namespace': 'team-a/prod:v2.1_x' }).namespace).toBe('team-a/prod:v2.1_x');
    expect(policy({ 'x-cache-namespace': 'n'.repeat(128) }).namespace).toHaveLength(128);
  });

  it.each([
    ['x-cache-ttl', 'abc'],
    ['x-cache-ttl', '-1'],
    ['x-cache-ttl', '1.5'],
    ['x-cache-ttl', '1e3'],
    ['x-cache-ttl', ''],
    ['x-cache-ttl', '99999999999999999999'],
    ['x-cache-threshold', 'high'],
    ['x-cache-threshold', '1.01'],
    ['x-cache-threshold', '-0.1'],
    ['x-cache-threshold', ''],
    ['x-cache-threshold', 'NaN'],
    ['x-cache-threshold', 'Infinity'],
    ['x-cache-namespace', 'has space'],
    ['x-cache-namespace', 'n'.repeat(129)],
    ['x-cache-namespace', 'ünïcode'],
    ['cache-control', 'max-age=abc'],
    ['cache-control', 'max-age=-5'],
    ['cache-control', 'max-age=1.5'],
  ])('malformed %s: %j → 400 naming the header', (header, value) => {
    const e = rejects({ [header]: value });
    expect(e.status).toBe(400);
    expect(e.param).toBe(header);
    expect(e.message).toContain(header);
  });
});
