/** @module store/types: what every store implements. One contract suite (test/store/contract.ts) runs against each. */
/** The endpoints Reprise caches, as an entry records where it came from. */
import type { ReplicaStats } from '../observe/stats.js';
import type { BudgetLabel, ServedHit } from '../cache/error-budget.js';

export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'responses' | 'messages';

/**
 * An entry's id follows from where it lives: one scope, one normalised text. So an id means the same on every
 * replica, and storing the same question again replaces the entry rather than adding a second one.
 */
export function entryId(scope: string, textKey: string): string {
  return `${scope}.${textKey}`;
}

/** The inverse of entryId(). */
export function parseEntryId(id: string): { scope: string; textKey: string } | undefined {
  const dot = id.indexOf('.');
  if (dot <= 0 || dot === id.length - 1) return undefined;
  return { scope: id.slice(0, dot), textKey: id.slice(dot + 1) };
}

/** One cached answer. */
export interface Entry {
  /** unique id, sent to clients as X-Cache-Id */
  id: string;
  scope: string;
  textKey: string;
  /** the query text that produced the answer */
  text: string;
  /** unit vector of `text`; absent for exact-only entries */
  vector?: Float32Array;
  /** the response body: a complete chat.completion / text_completion, or an embeddings list */
  response: unknown;
  endpoint: Endpoint;
  model: string;
  tenant: string;
  namespace: string;
  /** ms since epoch */
  createdAt: number;
  /** ms since epoch */
  expiresAt: number;
  /** the answer's size as it came from upstream, in bytes, where known */
  bytes?: number;
}

export interface Candidate {
  entry: Entry;
  /** cosine similarity to the query, -1..1 */
  score: number;
}

export interface PurgeFilter {
  tenant?: string;
  namespace?: string;
  model?: string;
}

/** Whether an entry of tenant `tenant` is one that PurgeFilter.tenant `filter` names: itself, or a context of it. */
function tenantCovers(filter: string, tenant: string): boolean {
  return tenant === filter || (tenant.length > filter.length && tenant.startsWith(filter) && tenant[filter.length] === '.');
}

/** Whether an entry with these fields is one `filter` purges: it matches every field the filter gives (a tenant, its contexts too). */
export function matchesPurge(filter: PurgeFilter, e: { tenant: string; namespace: string; model: string }): boolean {
  return (
    (filter.tenant === undefined || tenantCovers(filter.tenant, e.tenant)) &&
    (filter.namespace === undefined || e.namespace === filter.namespace) &&
    (filter.model === undefined || e.model === filter.model)
  );
}

export interface Store {
  getExact(scope: string, textKey: string): Promise<Entry | undefined>;
  /**
   * the k nearest entries of `scope`, best first. `tenant` is the scope's tenant, for a store that keeps each
   * tenant's vectors apart as well (Vectorize namespaces); the scope alone already isolates.
   */
  search(scope: string, vector: Float32Array, k: number, tenant?: string): Promise<Candidate[]>;
  put(entry: Entry, ttlSeconds: number): Promise<void>;
  /**
   * put, only over the entry stored under the same key with `createdAt` (the one read before): resolves false, and
   * stores nothing, when that one has gone (evicted, purged, expired) or been replaced meanwhile. Atomic in the store.
   */
  putOver(entry: Entry, ttlSeconds: number, createdAt: number): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  /** delete every entry matching all given fields; returns how many */
  purge(filter: PurgeFilter): Promise<number>;
  /** entries this process knows of */
  size(): number;
  /** about how many bytes the entries take, for a store that holds them in this process */
  bytes?(): number;
  /** a store replicas share: keep this replica's stats for the others to read, for `ttlSeconds` */
  shareStats?(stats: ReplicaStats, ttlSeconds: number): Promise<void>;
  /** a store replicas share: the stats every replica shared and that have not expired, this one's included */
  peerStats?(): Promise<ReplicaStats[]>;
  /**
   * a store replicas share: the channel the error budget's labels go through, for the replica `replica` (every
   * replica's budget then decides from all replicas' labels; cache/budget-share.ts)
   */
  labelChannel?(replica: string): LabelChannel;
  /** connection state of a remote store; an in-process store is always ready */
  readonly status?: 'connecting' | 'ready' | 'down';
}

/** What one replica's budget learned since its last batch: labels, and how many hits it served meanwhile. */
export interface LabelBatch {
  labels: BudgetLabel[];
  served: number;
  /** the hits served since the previous batch, with their similarity (absent: none) */
  hits?: ServedHit[];
}

/** The error budget's evidence shared among replicas (Store.labelChannel). */
export interface LabelChannel {
  /** Send this replica's batch to the others. Rejects, without waiting, while the store is away. */
  publish(batch: LabelBatch): Promise<void>;
  /**
   * Hear every other replica's batches, each once, the recent past first (what is still kept: a late replica
   * catches up on it), then as they come. This replica's own batches are not heard. Returns a stop function.
   */
  follow(apply: (batch: LabelBatch) => void): () => void;
}

/** A per-scope nearest-neighbour index over unit vectors, keyed by small integers. */
export interface VectorIndex {
  readonly size: number;
  add(key: number, vector: Float32Array): void;
  remove(key: number): void;
  /** up to k keys with their cosine similarity, best first */
  search(vector: Float32Array, k: number): Array<{ key: number; score: number }>;
}

/** Builds an index for a scope; the memory store takes one so Node can plug in native HNSW. */
export type IndexFactory = (dim: number) => VectorIndex;
