/**
 * @module cache/raw-exact: exact hits for requests seen before byte for byte, without parsing them again.
 *
 * A request's cache key follows from its route, its tenant, its namespace, the embedder and its body bytes, and
 * nothing else. So once a body has been parsed, validated and keyed, a byte-identical request under the same route,
 * tenant, namespace and embedder has the same key: this remembers the key (never the entry) under a hash of those
 * inputs. The entry is still read from the store every time, so an entry that was evicted, deleted by feedback or
 * purge, or that expired is never served from here. Only bodies that parsed and keyed are remembered, so what is
 * skipped for a known body is work whose result is already known.
 */
import { LRUCache } from 'lru-cache';
import type { CacheKey } from './key.js';
import type { AnswerForm } from './hit-reply.js';

/** What a body turned out to be, as far as serving an exact hit goes. */
export interface Known {
  scope: string;
  textKey: string;
  form: AnswerForm;
}

/** SHA-256 (hex) of a string prefix followed by bytes. */
export type BytesHash = (prefix: string, bytes: Uint8Array) => string;

const field = (v: string) => `${v.length}:${v}\n`;

export class RawExact {
  private readonly known: LRUCache<string, Known>;

  /** @param max bodies remembered, least recently used dropped first @default 50000 */
  constructor(
    private readonly hash: BytesHash,
    max = 50_000,
  ) {
    this.known = new LRUCache({ max });
  }

  /** The key of a raw request: its route, tenant, namespace, embedder (length-prefixed) and body bytes. */
  key(route: string, tenant: string, namespace: string, embedderId: string, body: Uint8Array): string {
    return this.hash(`${field(route)}${field(tenant)}${field(namespace)}${field(embedderId)}`, body);
  }

  get(raw: string): Known | undefined {
    return this.known.get(raw);
  }

  learn(raw: string, key: CacheKey, form: AnswerForm): void {
    this.known.set(raw, { scope: key.scope, textKey: key.textKey, form });
  }
}
