/** Tests cache/raw-exact (the remembered keys of byte-identical bodies) and the sha256Bytes it hashes with. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Bytes } from '../../src/cache/hash.js';
import { buildKey, type CacheKey } from '../../src/cache/key.js';
import { RawExact } from '../../src/cache/raw-exact.js';
import { parseRequest } from '../../src/openai/request.js';

const enc = new TextEncoder();
const nodeSha = (prefix: string, bytes: Uint8Array) => createHash('sha256').update(prefix, 'utf8').update(bytes).digest('hex');

const BODY = enc.encode('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"héllo 😀"}]}');
const BASE = ['/v1/chat/completions', 'tenant-a', 'ns', 'synthetic-48'] as const;

const keyOf = (text: string): CacheKey =>
  buildKey(parseRequest('chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }), { tenant: 'tenant-a', namespace: 'ns', embedderId: 'synthetic-48' });

describe('sha256Bytes', () => {
  it("equals node:crypto's SHA-256 of the prefix (UTF-8) followed by the bytes", () => {
    expect(sha256Bytes('', new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Bytes('abc', new Uint8Array(0))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Bytes('préfixe 東京\n', BODY)).toBe(nodeSha('préfixe 東京\n', BODY));
    const big = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);
    expect(sha256Bytes('p', big)).toBe(nodeSha('p', big));
  });
});

describe('RawExact.key', () => {
  const raw = new RawExact(sha256Bytes);
  const base = raw.key(...BASE, BODY);

  it('is stable for the same inputs, and the same with node:crypto as with the pure-JS hash', () => {
    expect(raw.key(...BASE, BODY)).toBe(base);
    expect(new RawExact(nodeSha).key(...BASE, BODY)).toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes when any one of route, tenant, namespace, embedder id or body changes', () => {
    const [route, tenant, namespace, embedder] = BASE;
    const variants = [
      raw.key('/v1/completions', tenant, namespace, embedder, BODY),
      raw.key(route, 'tenant-b', namespace, embedder, BODY),
      raw.key(route, tenant, '', embedder, BODY),
      raw.key(route, tenant, namespace, 'other-embedder', BODY),
      raw.key(route, tenant, namespace, embedder, enc.encode('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"héllo 😁"}]}')),
      raw.key(route, tenant, namespace, embedder, BODY.subarray(0, BODY.length - 1)),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it('fields are length-prefixed: moving characters across a field boundary gives a different key', () => {
    const body = new Uint8Array(0);
    expect(raw.key('r', 'ab', 'c', 'e', body)).not.toBe(raw.key('r', 'a', 'bc', 'e', body));
    expect(raw.key('/v1/x', 't', '', 'e', body)).not.toBe(raw.key('/v1/', 'xt', '', 'e', body));
    expect(raw.key('r', 't', 'n', 'e', enc.encode('x'))).not.toBe(raw.key('r', 't', 'n', 'ex', body));
    // A separator inside a value cannot forge a boundary either.
    expect(raw.key('r', 'a\n1:b', 'c', 'e', body)).not.toBe(raw.key('r', 'a', 'b\n1:c', 'e', body));
  });
});

describe('RawExact: learn and get', () => {
  it('learn then get returns the scope, text key and form; an unknown raw key is undefined', () => {
    const raw = new RawExact(sha256Bytes);
    const k = keyOf('how do i bake bread');
    const at = raw.key(...BASE, BODY);
    expect(raw.get(at)).toBeUndefined();
    raw.learn(at, k, 'sse+usage');
    expect(raw.get(at)).toEqual({ scope: k.scope, textKey: k.textKey, form: 'sse+usage' });
    expect(raw.get(raw.key(...BASE, enc.encode('{}')))).toBeUndefined();
  });

  it('keeps at most `max` bodies, dropping the least recently used', () => {
    const raw = new RawExact(sha256Bytes, 2);
    const [a, b, c] = ['a', 'b', 'c'].map((t) => ({ raw: raw.key(...BASE, enc.encode(t)), key: keyOf(t) }));
    raw.learn(a!.raw, a!.key, 'json');
    raw.learn(b!.raw, b!.key, 'json');
    expect(raw.get(a!.raw)?.textKey).toBe(a!.key.textKey); // a is now the most recently used
    raw.learn(c!.raw, c!.key, 'sse');
    expect(raw.get(b!.raw)).toBeUndefined();
    expect(raw.get(a!.raw)?.textKey).toBe(a!.key.textKey);
    expect(raw.get(c!.raw)).toEqual({ scope: c!.key.scope, textKey: c!.key.textKey, form: 'sse' });
  });
});
