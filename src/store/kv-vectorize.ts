/**
 * @module store/kv-vectorize: the Worker's store. Answers live in Workers KV, never in vector metadata (Vectorize
 * caps metadata at 10 KiB a vector); vectors live in Vectorize, one namespace per tenant and filtered by scope.
 *
 * Reads go through up to three tiers, fastest first: this isolate's memory (recent reads and writes, so a repeat
 * right after a miss hits at once, whatever KV's consistency across locations), the Cache API of this location when
 * it is switched on (`edgeSeconds`), then KV. Both front tiers are short-lived: a purge or a delete reaches every
 * other isolate and location only when their copies expire, at most `memorySeconds` / `edgeSeconds` later.
 *
 * Vectorize applies no threshold and returns at most 20 matches with their metadata and values: the pipeline
 * compares the scores and runs its guards and verifier itself. A vector becomes searchable seconds after it is
 * written; until then a paraphrase misses, while an identical repeat hits from the exact tiers.
 */
import { LRUCache } from 'lru-cache';
import { sha256 } from '../cache/hash.js';
import type { ReplicaStats } from '../observe/stats.js';
import type { DurableObjectNamespace, EdgeCache, KvNamespace, VectorizeIndex } from '../worker/bindings.js';
import { entryBytes } from './memory.js';
import { entryId, matchesPurge, type Candidate, type Endpoint, type Entry, type PurgeFilter, type Store } from './types.js';

export interface KvVectorizeOptions {
  kv: KvNamespace;
  /** without it, the store is exact-only: search finds nothing */
  vectors?: VectorizeIndex;
  /** the Cache API (`caches.default`), as a per-location exact tier in front of KV */
  edge?: EdgeCache;
  /** seconds an entry is kept in `edge` @default 60 */
  edgeSeconds?: number;
  /** seconds an entry is kept in this isolate's memory @default 60 */
  memorySeconds?: number;
  /** bytes of entries kept in this isolate's memory (an isolate has 128 MB in all) @default 16 MiB */
  memoryBytes?: number;
  /** the Durable Object that keeps every isolate's stats (worker/stats-object.ts) */
  stats?: DurableObjectNamespace;
  now?: () => number;
}

/** KV's shortest expirationTtl. An entry meant to live less is still checked against its own expiresAt. */
const KV_MIN_TTL = 60;
/** Vectorize's most matches with metadata or values. */
const VECTORIZE_TOP_K = 20;
/** KV key metadata is capped at 1024 bytes: a longer model name is left out of it (purge by model then misses it). */
const MODEL_IN_METADATA = 256;
const ENTRY_PREFIX = 'e:';
/** The Cache API wants a URL; this host is never fetched. */
const EDGE_ORIGIN = 'https://entries.reprise.invalid/';

/** What KV keeps with each entry's key, so that a purge can filter a listing without reading every value. */
interface KeyMetadata {
  t: string;
  n: string;
  m?: string;
  x: number;
}

/** An entry as KV holds it: everything but its vector, which lives in Vectorize. */
type StoredEntry = Omit<Entry, 'vector'>;

/** A KV value: the entry, and when it stops being served (ms since epoch). */
interface Kept {
  until: number;
  entry: StoredEntry;
}

export class KvVectorizeStore implements Store {
  readonly status = 'ready' as const;
  private readonly memory: LRUCache<string, { entry: Entry; until: number }>;
  private readonly now: () => number;

  constructor(private readonly opts: KvVectorizeOptions) {
    this.now = opts.now ?? Date.now;
    this.memory = new LRUCache<string, { entry: Entry; until: number }>({
      maxSize: opts.memoryBytes ?? 16 * 1024 * 1024,
      sizeCalculation: (k) => entryBytes(k.entry),
      max: 10_000,
    });
  }

  /** Entries in this isolate's memory tier: the rest of the cache is in KV, which has no cheap count. */
  size(): number {
    return this.memory.size;
  }

  async getExact(scope: string, textKey: string): Promise<Entry | undefined> {
    return this.read(entryId(scope, textKey));
  }

  async search(scope: string, vector: Float32Array, k: number, tenant?: string): Promise<Candidate[]> {
    const { vectors } = this.opts;
    if (!vectors || k <= 0) return [];
    const { matches } = await vectors.query(Array.from(vector), {
      // As many as Vectorize gives: expired entries' vectors linger until a search meets them, and must not crowd
      // out live ones. Vectorize bills by vectors queried, not by matches returned.
      topK: VECTORIZE_TOP_K,
      ...(tenant !== undefined && { namespace: tenant }),
      // Isolation never rests on the namespace alone: the scope, which names the tenant too, is filtered on.
      filter: { scope: { $eq: scope } },
      returnMetadata: 'all',
      returnValues: true,
    });
    const now = this.now();
    const stale: string[] = [];
    // Live, in-scope matches best first; an expired one (its expiry is in its metadata) is not read at all.
    const live = matches
      .filter((m) => {
        const md = m.metadata ?? {};
        // A store that filters loosely (or a vector written by another version) must still never cross a scope.
        if (md.scope !== scope || typeof md.key !== 'string') return false;
        if (typeof md.x === 'number' && md.x <= now) {
          stale.push(m.id);
          return false;
        }
        return true;
      })
      .sort((a, b) => b.score - a.score);
    // Each candidate costs a KV read: read k at a time, best first, until k are found. An entry gone from KV but
    // not expired is one KV has not yet shown this location: it is passed over, and its vector kept.
    const found: Candidate[] = [];
    for (let i = 0; i < live.length && found.length < k; i += k) {
      const batch = await Promise.all(
        live.slice(i, i + k).map(async (m): Promise<Candidate | undefined> => {
          const entry = await this.read(entryId(scope, m.metadata!.key as string));
          if (!entry) return undefined;
          return { entry: m.values ? { ...entry, vector: Float32Array.from(m.values) } : entry, score: m.score };
        }),
      );
      for (const c of batch) if (c && found.length < k) found.push(c);
    }
    if (stale.length > 0) await vectors.deleteByIds(stale).catch(() => {});
    return found;
  }

  async put(given: Entry, ttlSeconds: number): Promise<void> {
    // The id follows from scope and text key, as everywhere (store/types.ts entryId).
    const entry = given.id === entryId(given.scope, given.textKey) ? given : { ...given, id: entryId(given.scope, given.textKey) };
    const { vector, ...stored } = entry;
    // The entry lives ttlSeconds from now, on this store's clock; KV's own expiry only frees the space.
    const until = this.now() + ttlSeconds * 1000;
    const metadata: KeyMetadata = {
      t: entry.tenant,
      n: entry.namespace,
      ...(entry.model.length <= MODEL_IN_METADATA && { m: entry.model }),
      x: until,
    };
    const value = JSON.stringify({ until, entry: stored } satisfies Kept);
    // KV first: a vector that is searchable always has its answer to read (where KV has caught up).
    await this.opts.kv.put(ENTRY_PREFIX + entry.id, value, { expirationTtl: Math.max(KV_MIN_TTL, Math.ceil(ttlSeconds)), metadata });
    this.remember(entry, until);
    await this.toEdge(value, entry.id, until);
    if (vector && this.opts.vectors) {
      await this.opts.vectors.upsert([
        { id: vectorId(entry.id), values: Array.from(vector), namespace: entry.tenant, metadata: { scope: entry.scope, key: entry.textKey, x: until } },
      ]);
    }
  }

  /**
   * put over the entry read before, if it is still there: KV has no compare-and-set, so this reads, compares and
   * writes. Two writers at once may both win; each writes a complete entry of the same key, so nothing mixes.
   */
  async putOver(entry: Entry, ttlSeconds: number, createdAt: number): Promise<boolean> {
    const current = await this.fromKv(entryId(entry.scope, entry.textKey));
    if (!current || current.until <= this.now() || current.entry.createdAt !== createdAt) return false;
    await this.put(entry, ttlSeconds);
    return true;
  }

  async delete(id: string): Promise<boolean> {
    const kept = await this.fromKv(id);
    const had = kept !== undefined && kept.until > this.now();
    await this.forget(id);
    return had;
  }

  async purge(filter: PurgeFilter): Promise<number> {
    let purged = 0;
    let cursor: string | undefined;
    do {
      const page = await this.opts.kv.list<KeyMetadata>({ prefix: ENTRY_PREFIX, ...(cursor && { cursor }) });
      const doomed = page.keys.filter((k) => {
        const md = k.metadata;
        if (!md) return false;
        // A model name too long for the metadata cannot be matched by it: such an entry goes only by tenant or namespace.
        if (filter.model !== undefined && md.m === undefined) return false;
        return matchesPurge(filter, { tenant: md.t, namespace: md.n, model: md.m ?? '' });
      });
      await Promise.all(doomed.map((k) => this.forget(k.name.slice(ENTRY_PREFIX.length))));
      purged += doomed.length;
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return purged;
  }

  async shareStats(stats: ReplicaStats, ttlSeconds: number): Promise<void> {
    const stub = this.statsObject();
    if (!stub) return;
    const res = await stub.fetch('https://stats.reprise.invalid/share', { method: 'POST', body: JSON.stringify({ stats, ttlSeconds }) });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`the stats object answered ${res.status}`);
  }

  async peerStats(): Promise<ReplicaStats[]> {
    const stub = this.statsObject();
    if (!stub) return [];
    const res = await stub.fetch('https://stats.reprise.invalid/peers');
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`the stats object answered ${res.status}`);
    }
    return (await res.json()) as ReplicaStats[];
  }

  private statsObject() {
    const ns = this.opts.stats;
    return ns ? ns.get(ns.idFromName('stats')) : undefined;
  }

  /** The entry by id from the fastest tier that has it; undefined if none has it, or it has expired. */
  private async read(id: string): Promise<Entry | undefined> {
    const now = this.now();
    const remembered = this.memory.get(id);
    if (remembered) {
      if (remembered.until > now) return remembered.entry;
      this.memory.delete(id);
    }
    const kept = (await this.fromEdge(id)) ?? (await this.fromKv(id));
    if (!kept || kept.until <= now) return undefined;
    const entry = kept.entry as Entry;
    this.remember(entry, kept.until);
    return entry;
  }

  private async fromKv(id: string): Promise<Kept | undefined> {
    const text = await this.opts.kv.get(ENTRY_PREFIX + id, 'text');
    return text === null ? undefined : decodeKept(text, id);
  }

  private async fromEdge(id: string): Promise<Kept | undefined> {
    const { edge } = this.opts;
    if (!edge) return undefined;
    const res = await edge.match(EDGE_ORIGIN + encodeURIComponent(id));
    return res ? decodeKept(await res.text(), id) : undefined;
  }

  private async toEdge(value: string, id: string, until: number): Promise<void> {
    const { edge } = this.opts;
    if (!edge) return;
    // Kept no longer than the entry lives, and no longer than edgeSeconds (a purge cannot reach other locations).
    const seconds = Math.min(this.opts.edgeSeconds ?? 60, Math.floor((until - this.now()) / 1000));
    if (seconds <= 0) return;
    const res = new Response(value, { headers: { 'content-type': 'application/json', 'cache-control': `max-age=${seconds}` } });
    await edge.put(EDGE_ORIGIN + encodeURIComponent(id), res);
  }

  private remember(entry: Entry, until: number): void {
    const ttl = Math.min((this.opts.memorySeconds ?? 60) * 1000, until - this.now());
    if (ttl > 0) this.memory.set(entry.id, { entry, until }, { ttl });
  }

  private async forget(id: string): Promise<void> {
    this.memory.delete(id);
    await Promise.all([
      this.opts.kv.delete(ENTRY_PREFIX + id),
      this.opts.edge?.delete(EDGE_ORIGIN + encodeURIComponent(id)),
      this.opts.vectors?.deleteByIds([vectorId(id)]),
    ]);
  }
}

/** Vectorize ids are at most 64 bytes; an entry id is two hashes. */
function vectorId(id: string): string {
  return sha256(`reprise-vector\u0000${id}`);
}

const ENDPOINTS: ReadonlySet<Endpoint> = new Set(['chat', 'completions', 'embeddings', 'responses', 'messages']);

/** A value read back, checked to be one: a value that is not (written by hand, or by another version) is no entry. */
function decodeKept(text: string, id: string): Kept | undefined {
  let kept: Kept;
  try {
    kept = JSON.parse(text) as Kept;
  } catch {
    return undefined;
  }
  if (kept === null || typeof kept !== 'object' || typeof kept.until !== 'number') return undefined;
  const e = kept.entry;
  const ok =
    e !== null &&
    typeof e === 'object' &&
    e.id === id &&
    typeof e.scope === 'string' &&
    typeof e.textKey === 'string' &&
    typeof e.text === 'string' &&
    ENDPOINTS.has(e.endpoint) &&
    typeof e.model === 'string' &&
    typeof e.tenant === 'string' &&
    typeof e.namespace === 'string' &&
    typeof e.createdAt === 'number' &&
    typeof e.expiresAt === 'number' &&
    'response' in e;
  return ok ? kept : undefined;
}
