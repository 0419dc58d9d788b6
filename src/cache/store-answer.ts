/** @module cache/store-answer: turn a complete upstream answer into an entry and put it in the store. */
import type { Embedder } from '../embed/types.js';
import type { ParsedRequest } from './wire.js';
import { entryId, type Entry, type Store } from '../store/types.js';
import type { CacheKey } from './key.js';
import type { Backfill } from './backfill.js';
import type { CachePolicy } from './policy.js';

export interface StoreAnswerArgs {
  store: Store;
  embedder: Embedder;
  key: CacheKey;
  parsed: ParsedRequest;
  policy: CachePolicy;
  tenant: string;
  answer: unknown;
  /** the answer's size as received */
  bytes?: number;
  /** the query's vector if the lookup already computed it */
  vector?: Float32Array;
  /** without a vector: store the entry exact-only now, and have this embed it later (else it is embedded first) */
  backfill?: Backfill;
  now: number;
}

export async function storeAnswer(a: StoreAnswerArgs): Promise<Entry> {
  // A request that skipped the lookup (no-cache, a busy embedder) has no vector: the entry is stored exact-only and
  // embedded later, when the embedder is idle, rather than keep the client waiting for the embedding.
  const later = a.key.semantic && !a.vector && a.backfill;
  const vector = a.key.semantic && !later ? (a.vector ?? (await a.embedder.embed([a.key.embedText], { partition: a.tenant }))[0]) : undefined;
  const entry: Entry = {
    id: entryId(a.key.scope, a.key.textKey),
    scope: a.key.scope,
    textKey: a.key.textKey,
    text: a.key.text,
    ...(vector && { vector }),
    response: a.answer,
    endpoint: a.parsed.endpoint,
    model: a.parsed.model,
    tenant: a.tenant,
    namespace: a.policy.namespace,
    createdAt: a.now,
    expiresAt: a.now + a.policy.ttl * 1000,
    ...(a.bytes !== undefined && { bytes: a.bytes }),
  };
  await a.store.put(entry, a.policy.ttl);
  if (later) a.backfill!.add(entry, a.embedder, a.key.embedText);
  return entry;
}
