/**
 * The Worker's store (store/kv-vectorize.ts) under the Store contract, on Miniflare's Workers KV (the simulation
 * wrangler dev runs, reached from Node) and the Vectorize stand-in. Its own tests below cover what the contract
 * does not: the tiers in front of KV, tenant namespaces and the scope filter, and vectors that become searchable late.
 */
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvVectorizeStore } from '../../src/store/kv-vectorize.js';
import type { Entry } from '../../src/store/types.js';
import type { EdgeCache, KvNamespace } from '../../src/worker/bindings.js';
import { DelayedVectorize } from '../fixtures/workers/stand-ins.js';
import { storeContract } from './contract.js';

let mf: Miniflare;
let kvs = 0;

beforeAll(async () => {
  mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(null, { status: 204 }) } }',
    kvNamespaces: Array.from({ length: 64 }, (_, i) => `KV${i}`),
  });
  await mf.ready;
});
afterAll(() => mf.dispose());

/** A namespace no other test has written to. */
async function freshKv(): Promise<KvNamespace> {
  return (await mf.getKVNamespace(`KV${kvs++}`)) as unknown as KvNamespace;
}

storeContract('KvVectorizeStore', async (clock) => {
  const store = new KvVectorizeStore({ kv: await freshKv(), vectors: new DelayedVectorize({ now: clock.now }), now: clock.now });
  return { store };
});

const DIM = 4;
function vec(...xs: number[]): Float32Array {
  const v = Float32Array.from({ length: DIM }, (_, i) => xs[i] ?? 0);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function entry(over: Partial<Entry> & { scope: string; textKey: string }, now = Date.now()): Entry {
  return {
    id: `${over.scope}.${over.textKey}`,
    text: over.textKey,
    response: { answer: over.textKey },
    endpoint: 'chat',
    model: 'gpt-4o-mini',
    tenant: 'tenant-a',
    namespace: 'default',
    createdAt: now,
    expiresAt: now + 3_600_000,
    ...over,
  };
}

describe('KvVectorizeStore', () => {
  it('keeps answers in KV and only a scope, a text key and an expiry in the vector metadata', async () => {
    const kv = await freshKv();
    const vectors = new DelayedVectorize();
    const store = new KvVectorizeStore({ kv, vectors });
    const big = 'x'.repeat(50_000);
    await store.put(entry({ scope: 's1', textKey: 'k1', vector: vec(1, 0), response: { big } }), 3600);
    const [match] = (await vectors.query(vec(1, 0), { topK: 1, returnMetadata: 'all', namespace: 'tenant-a' })).matches;
    expect(Object.keys(match!.metadata!).sort()).toEqual(['key', 'scope', 'x']);
    expect(JSON.stringify(match!.metadata).length).toBeLessThan(200);
    expect(JSON.parse((await kv.get('e:s1.k1', 'text'))!).entry.response.big).toBe(big);
  });

  it("searches the tenant's namespace, filtered by scope, and never returns another scope's entry", async () => {
    const vectors = new DelayedVectorize();
    const store = new KvVectorizeStore({ kv: await freshKv(), vectors });
    await store.put(entry({ scope: 's1', textKey: 'a', vector: vec(1, 0) }), 3600);
    await store.put(entry({ scope: 's2', textKey: 'b', vector: vec(1, 0) }), 3600);
    await store.put(entry({ scope: 's1', textKey: 'c', vector: vec(1, 0), tenant: 'tenant-b' }), 3600);
    const found = await store.search('s1', vec(1, 0), 4, 'tenant-a');
    expect(found.map((c) => c.entry.id)).toEqual(['s1.a']);
    expect(vectors.queries.at(-1)).toMatchObject({ namespace: 'tenant-a', filter: { scope: { $eq: 's1' } } });
  });

  it('finds a vector only once Vectorize has made it searchable, while the exact tier has the entry at once', async () => {
    let t = Date.now();
    const vectors = new DelayedVectorize({ visibleAfterMs: 5_000, now: () => t });
    const store = new KvVectorizeStore({ kv: await freshKv(), vectors });
    await store.put(entry({ scope: 's1', textKey: 'a', vector: vec(1, 1) }), 3600);
    expect(await store.search('s1', vec(1, 1), 4, 'tenant-a')).toEqual([]);
    expect((await store.getExact('s1', 'a'))?.id).toBe('s1.a');
    t += 5_000;
    expect((await store.search('s1', vec(1, 1), 4, 'tenant-a')).map((c) => c.entry.id)).toEqual(['s1.a']);
  });

  it("serves a repeat from the isolate's memory even while KV cannot be read", async () => {
    const kv = await freshKv();
    let reads = 0;
    const counting: KvNamespace = { ...kv, get: (k: string, type: 'text') => (reads++, kv.get(k, type)), put: (...a) => kv.put(...a), delete: (k) => kv.delete(k), list: (o) => kv.list(o) };
    const store = new KvVectorizeStore({ kv: counting });
    await store.put(entry({ scope: 's1', textKey: 'a' }), 3600);
    expect((await store.getExact('s1', 'a'))?.id).toBe('s1.a');
    expect(reads).toBe(0);
    // Another isolate has no such memory: it reads KV.
    const other = new KvVectorizeStore({ kv: counting });
    expect((await other.getExact('s1', 'a'))?.id).toBe('s1.a');
    expect(reads).toBe(1);
  });

  it('reads through the Cache API tier before KV when it is on, and a delete clears it', async () => {
    const kv = await freshKv();
    const cached = new Map<string, string>();
    const edge: EdgeCache = {
      match: async (r) => (cached.has(String(r)) ? new Response(cached.get(String(r))) : undefined),
      put: async (r, res) => void cached.set(String(r), await res.text()),
      delete: async (r) => cached.delete(String(r)),
    };
    const writer = new KvVectorizeStore({ kv, edge, edgeSeconds: 60 });
    await writer.put(entry({ scope: 's1', textKey: 'a' }), 3600);
    expect(cached.size).toBe(1);
    await kv.delete('e:s1.a');
    // A second isolate in the same location: KV no longer has it, the location's cache does.
    expect((await new KvVectorizeStore({ kv, edge, edgeSeconds: 60 }).getExact('s1', 'a'))?.id).toBe('s1.a');
    await writer.delete('s1.a');
    expect(cached.size).toBe(0);
  });

  it('deletes a vector whose entry has expired when a search meets it', async () => {
    let t = Date.now();
    const vectors = new DelayedVectorize({ now: () => t });
    const store = new KvVectorizeStore({ kv: await freshKv(), vectors, now: () => t });
    await store.put(entry({ scope: 's1', textKey: 'a', vector: vec(1, 0), expiresAt: t + 1000 }, t), 1);
    expect(vectors.size).toBe(1);
    t += 2000;
    expect(await store.search('s1', vec(1, 0), 4, 'tenant-a')).toEqual([]);
    expect(vectors.size).toBe(0);
  });

  it('reads KV for no more candidates than asked for, best first', async () => {
    const kv = await freshKv();
    const vectors = new DelayedVectorize();
    const writer = new KvVectorizeStore({ kv, vectors });
    for (let i = 0; i < 10; i++) await writer.put(entry({ scope: 's1', textKey: `t${i}`, vector: vec(1, i / 10) }), 3600);
    let reads = 0;
    const counting: KvNamespace = { get: (k: string, type: 'text') => (reads++, kv.get(k, type)), put: (...a) => kv.put(...a), delete: (k) => kv.delete(k), list: (o) => kv.list(o) };
    const found = await new KvVectorizeStore({ kv: counting, vectors }).search('s1', vec(1, 0), 2, 'tenant-a');
    expect(found.map((c) => c.entry.textKey)).toEqual(['t0', 't1']);
    expect(reads).toBe(2);
  });

  it('purges by tenant, namespace and model from the key metadata, vectors included', async () => {
    const vectors = new DelayedVectorize();
    const store = new KvVectorizeStore({ kv: await freshKv(), vectors });
    await store.put(entry({ scope: 's1', textKey: 'a', vector: vec(1, 0) }), 3600);
    await store.put(entry({ scope: 's1', textKey: 'b', vector: vec(0, 1), tenant: 'tenant-a.ctx' }), 3600);
    await store.put(entry({ scope: 's2', textKey: 'c', vector: vec(1, 1), tenant: 'tenant-b' }), 3600);
    expect(await store.purge({ tenant: 'tenant-a' })).toBe(2);
    expect(vectors.size).toBe(1);
    expect(await store.getExact('s1', 'a')).toBeUndefined();
    expect((await store.getExact('s2', 'c'))?.id).toBe('s2.c');
  });
});
