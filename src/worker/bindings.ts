/**
 * @module worker/bindings: the parts of Cloudflare's bindings that Reprise uses, as structural types. The real
 * bindings (Workers KV, Vectorize, Workers AI, Durable Objects, the Cache API) satisfy them, and so do the stand-ins
 * the tests bind in workerd, where Workers AI and Vectorize have no local simulation. Declared here rather than
 * taken from @cloudflare/workers-types, whose globals would clash with the DOM and Node types the rest of the code
 * is checked against.
 */

export interface KvNamespace {
  get(key: string, type: 'text'): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number; metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
  list<M = unknown>(options?: { prefix?: string; cursor?: string; limit?: number }): Promise<{
    keys: Array<{ name: string; expiration?: number; metadata?: M }>;
    list_complete: boolean;
    cursor?: string;
  }>;
}

export type VectorMetadata = Record<string, string | number | boolean>;

export interface VectorizeMatch {
  id: string;
  score: number;
  values?: number[] | Float32Array;
  metadata?: VectorMetadata;
  namespace?: string;
}

export interface VectorizeIndex {
  query(
    vector: number[] | Float32Array,
    options: {
      topK: number;
      namespace?: string;
      returnValues?: boolean;
      returnMetadata?: 'none' | 'indexed' | 'all';
      filter?: Record<string, unknown>;
    },
  ): Promise<{ matches: VectorizeMatch[]; count?: number }>;
  upsert(vectors: Array<{ id: string; values: number[] | Float32Array; namespace?: string; metadata?: VectorMetadata }>): Promise<unknown>;
  deleteByIds(ids: string[]): Promise<unknown>;
}

/** Workers AI: `run(model, inputs)`. */
export interface Ai {
  run(model: string, inputs: Record<string, unknown>): Promise<unknown>;
}

export interface DurableObjectStub {
  fetch(input: string | Request, init?: RequestInit): Promise<Response>;
}

export interface DurableObjectNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): DurableObjectStub;
}

export interface DurableObjectStorage {
  get<T>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): Promise<void>;
  delete(key: string | string[]): Promise<unknown>;
  list<T>(options?: { prefix?: string }): Promise<Map<string, T>>;
}

export interface DurableObjectState {
  storage: DurableObjectStorage;
}

/** The Cache API's one cache, `caches.default` on Workers. */
export interface EdgeCache {
  match(request: string | Request): Promise<Response | undefined>;
  put(request: string | Request, response: Response): Promise<void>;
  delete(request: string | Request): Promise<boolean>;
}

export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** What wrangler.toml binds, every part optional (see the README, "Deploy to Cloudflare"). */
export interface WorkerEnv {
  /** Workers KV: the entries and the exact tier */
  CACHE?: KvNamespace;
  /** Vectorize: semantic search */
  VECTORS?: VectorizeIndex;
  /** Workers AI: embeddings and the optional reranker */
  AI?: Ai;
  /** the Durable Object that keeps the isolates' stats for /stats and the dashboard */
  STATS?: DurableObjectNamespace;
  /** vars and secrets: the same names as Reprise's env vars on Node (UPSTREAM_URL, ADMIN_TOKEN, TENANT_SECRET, ...) */
  [name: string]: unknown;
}
