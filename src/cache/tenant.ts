/**
 * @module cache/tenant: who owns an entry, derived from the caller's credentials (DESIGN: cache-key contract 2).
 *
 * A tenant id is an HMAC, with a server secret, over every header and query parameter that can carry a credential
 * or select an account upstream: two credentials never share entries, and a tenant id says nothing about the key
 * it came from to anyone without the secret. A request with no credential at all is in the no-credential tenant; a
 * credential in any form never lands there. A client-chosen header that is not a credential never picks a tenant.
 *
 * The id has two parts, `<key>` or `<key>.<context>`: `<key>` keys the request's main credential alone (the first
 * of CREDENTIAL_HEADERS it sends, whichever header carries it, a Bearer scheme aside), `<context>` everything else
 * it sends (organisation, project, a gateway's own key). So the same API key sent as `Authorization: Bearer K` or as
 * `x-api-key: K` is one tenant, and purging by API key (PurgeFilter.tenant = ofApiKey(K), store/types' matchesPurge) reaches every context.
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
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'ocp-apim-subscription-key',
  'cf-aig-authorization',
  'x-portkey-api-key',
  'x-portkey-virtual-key',
  'helicone-auth',
  'x-litellm-api-key',
  // Kong's key-auth default, Azure Functions keys, and the generic token headers gateways put in front of a model.
  'apikey',
  'x-functions-key',
  'x-auth-token',
  'x-api-token',
  'x-access-token',
  'cookie',
  // These pick an account rather than prove one: never a main credential while a key is sent too.
  'openai-organization',
  'openai-project',
  'x-goog-user-project',
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

/** Headers that pick the account or project a request is billed to, rather than authenticate it. */
const ACCOUNT_HEADERS: ReadonlySet<string> = new Set(['openai-organization', 'openai-project', 'x-goog-user-project']);

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
    const { main, context } = this.credentialsOf(headers, query);
    if (main === undefined) return NO_CREDENTIAL_TENANT;
    const keyPart = this.remembered(`k\u0000${main}`);
    return context === '' ? keyPart : `${keyPart}.${this.remembered(`c\u0000${context}`).slice(0, 16)}`;
  }

  /**
   * The tenant of a bare API key, however the request sends it; as a PurgeFilter.tenant it also matches the key's
   * tenants with a context (organisation, project, a second credential).
   */
  ofApiKey(apiKey: string): string {
    return this.remembered(`k\u0000${apiKey.trim()}`);
  }

  private remembered(material: string): string {
    if (material.length > MEMO_MAX_CREDENTIAL) return this.idOf(material);
    let id = this.memo.get(material);
    if (id === undefined) this.memo.set(material, (id = this.idOf(material)));
    return id;
  }

  /**
   * The main credential's value (undefined when the request carries none) and every other credential, named, as one
   * canonical string. The main one is the first credential header sent, else the first credential parameter by name.
   */
  private credentialsOf(headers: HeaderSource, query: string): { main: string | undefined; context: string } {
    let main: string | undefined;
    let context = '';
    for (const name of this.headers) {
      const v = headers.get(name)?.trim();
      if (!v) continue;
      if (main === undefined && !ACCOUNT_HEADERS.has(name)) main = name === 'authorization' ? withoutBearer(v) : v;
      else context += `h:${name}=${v}\u0000`;
    }
    const params: Array<[string, string]> = [];
    if (query) {
      for (const part of query.split('&')) {
        const eq = part.indexOf('=');
        const name = safeDecode(eq < 0 ? part : part.slice(0, eq)).toLowerCase();
        if (CREDENTIAL_PARAMS.has(name)) params.push([name, safeDecode(eq < 0 ? '' : part.slice(eq + 1))]);
      }
      params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    }
    for (const [name, v] of params) {
      if (main === undefined && v !== '') main = v;
      else context += `q:${name}=${v}\u0000`;
    }
    // Only account headers (an organisation, no key): still a credential, never the no-credential tenant.
    if (main === undefined && context !== '') main = '';
    return { main, context };
  }

  private idOf(material: string): string {
    return bytesToHex(hmac(sha256, this.key, utf8ToBytes(`reprise-tenant\u0000${material}`))).slice(0, 32);
  }
}

/** `Bearer K` carries the key K, as `x-api-key: K` does; any other scheme stays part of the credential. */
function withoutBearer(v: string): string {
  return /^bearer\s+/i.test(v) ? v.replace(/^bearer\s+/i, '') : v;
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
