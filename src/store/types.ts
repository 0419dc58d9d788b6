/** @module store/types: what every store implements. One contract suite (test/store/contract.ts) runs against each. */
import type { Endpoint } from '../openai/request.js';

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

export interface Store {
  getExact(scope: string, textKey: string): Promise<Entry | undefined>;
  /** the k nearest entries of `scope`, best first */
  search(scope: string, vector: Float32Array, k: number): Promise<Candidate[]>;
  put(entry: Entry, ttlSeconds: number): Promise<void>;
  delete(id: string): Promise<boolean>;
  /** delete every entry matching all given fields; returns how many */
  purge(filter: PurgeFilter): Promise<number>;
  size(): number;
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
