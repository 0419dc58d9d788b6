/** @module cache/store-answer: turn a complete upstream answer into an entry and put it in the store. */
import type { Embedder } from '../embed/types.js';
import type { ParsedRequest } from '../openai/request.js';
import { entryId, type Entry, type Store } from '../store/types.js';
import type { CacheKey } from './key.js';
import type { CachePolicy } from './policy.js';

export interface StoreAnswerArgs {
  store: Store;
  embedder: Embedder;
  key: CacheKey;
  parsed: ParsedRequest;
  policy: CachePolicy;
  tenant: string;
  answer: unknown;
  /** the query's vector if the lookup already computed it */
  vector?: Float32Array;
  now: number;
}

export async function storeAnswer(a: StoreAnswerArgs): Promise<Entry> {
  // A no-cache request skipped the lookup, so its vector is computed now (the exchange does not keep the client waiting).
  const vector = a.key.semantic ? (a.vector ?? (await a.embedder.embed([a.key.text]))[0]) : undefined;
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
  };
  await a.store.put(entry, a.policy.ttl);
  return entry;
}
