/**
 * @module cache/tenant: who owns an entry, derived from the caller's credentials (DESIGN: cache-key contract 2).
 *
 * A tenant id is an HMAC, with a server secret, over every header and query parameter that can carry a credential
 * or select an account upstream: two credentials never share entries, and a tenant id says nothing about the key
 * it came from to anyone without the secret. A request with no credential at all is in the no-credential tenant; a
 * credential in any form never lands there. A client-chosen header that is not a credential never picks a tenant.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { LRUCache } from 'lru-cache';

/** Tenant id used when the operator turns on one shared cache for all credentials. */
export const SHARED_TENANT = 'shared';
/** Tenant id of requests that carry no credential in any form. */
export const NO_CREDENTIAL_TENANT = 'anonymous';

/**
 * Headers that carry a credential, or pick the account or project a request is billed to, at the providers and
 * gateways Reprise fronts: OpenAI, Azure OpenAI and API Management, Anthropic, Google, and common gateways.
 */
export const CREDENTIAL_HEADERS: readonly string[] = [
  'authorization',
  'api-key',
  'x-api-key',
  'x-goog-api-key',
  'x-goog-user-project',
  'ocp-apim-subscription-key',
  'openai-organization',
  'openai-project',
  'cookie',
  'cf-aig-authorization',
  'x-portkey-api-key',
  'helicone-auth',
];

/** Query parameters that carry a credential (Google's `key`, Azure's SAS `sig`, tokens). Compared in lower case. */
export const CREDENTIAL_PARAMS: ReadonlySet<string> = new Set(['key', 'api-key', 'api_key', 'apikey', 'access_token', 'token', 'auth', 'sig', 'signature', 'code', 'x-api-key']);

/** Anything headers can be read from by lower-case name: a RequestView's headers, or a Web Headers object. */
export interface HeaderSource {
  get(name: string): string | null | undefined;
}

export interface TenantOptions {
  /** the server secret the ids are keyed with; replicas that share a cache must share it */
  secret: Uint8Array;
  /** every credential shares one tenant (--shared-cache) @default false */
  shared?: boolean;
  /** further headers that carry a credential at the operator's gateway (--tenant-headers) */
  extraHeaders?: readonly string[];
}

/** Credentials longer than this are hashed every time rather than remembered. */
const MEMO_MAX_CREDENTIAL = 4096;

/** Tenant ids from credentials, remembering recent credentials' ids (a busy tenant would otherwise re-hash its key). */
export class Tenants {
  private readonly headers: readonly string[];
  private readonly key: Uint8Array;
  private readonly memo = new LRUCache<string, string>({ max: 10_000 });

  constructor(private readonly opts: TenantOptions) {
    this.headers = [...new Set([...CREDENTIAL_HEADERS, ...(opts.extraHeaders ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean)])];
    // The secret is stretched once into the HMAC key, so a short operator secret still keys the whole hash.
    this.key = sha256(opts.secret);
  }

  /** @param query the request's query string without "?", "" when there is none */
  of(headers: HeaderSource, query = ''): string {
    if (this.opts.shared) return SHARED_TENANT;
    const credential = this.credentialOf(headers, query);
    if (!credential) return NO_CREDENTIAL_TENANT;
    if (credential.length > MEMO_MAX_CREDENTIAL) return this.idOf(credential);
    let id = this.memo.get(credential);
    if (id === undefined) this.memo.set(credential, (id = this.idOf(credential)));
    return id;
  }

  /** The tenant of a bare API key, as the proxy derives it for `Authorization: Bearer <key>` (admin purge). */
  ofApiKey(apiKey: string): string {
    return this.of({ get: (n) => (n === 'authorization' ? `Bearer ${apiKey}` : undefined) });
  }

  /** Every credential a request carries, as one canonical string; "" when it carries none. */
  private credentialOf(headers: HeaderSource, query: string): string {
    let out = '';
    for (const name of this.headers) {
      const v = headers.get(name)?.trim();
      if (v) out += `h:${name}=${v}\u0000`;
    }
    if (query) {
      const params: string[] = [];
      for (const part of query.split('&')) {
        const eq = part.indexOf('=');
        const name = safeDecode(eq < 0 ? part : part.slice(0, eq)).toLowerCase();
        if (CREDENTIAL_PARAMS.has(name)) params.push(`q:${name}=${safeDecode(eq < 0 ? '' : part.slice(eq + 1))}\u0000`);
      }
      out += params.sort().join('');
    }
    return out;
  }

  private idOf(credential: string): string {
    return bytesToHex(hmac(sha256, this.key, utf8ToBytes(`reprise-tenant\u0000${credential}`))).slice(0, 32);
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** A secret for one process: enough where no other process shares the cache (the memory store). */
export function randomSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}
