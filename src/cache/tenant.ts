/** @module cache/tenant: who owns an entry, derived from the caller's credential (DESIGN: cache-key contract 2). */
import { LRUCache } from 'lru-cache';
import { sha256 } from './hash.js';

/** Tenant id used when the operator turns on one shared cache for all credentials. */
export const SHARED_TENANT = 'shared';

/** Anything headers can be read from by lower-case name: a RequestView's headers, or a Web Headers object. */
export interface HeaderSource {
  get(name: string): string | null | undefined;
}

/** What identifies the caller: every header that carries a credential, or "" when none does. */
function credentialOf(headers: HeaderSource): string {
  // Both headers count: a client may send a placeholder Authorization next to its real api-key.
  const authorization = headers.get('authorization')?.trim() ?? '';
  const apiKey = headers.get('api-key')?.trim() ?? '';
  return authorization || apiKey ? `${authorization}\u0000${apiKey}` : '';
}

const idOf = (credential: string) => sha256(`reprise-tenant\u0000${credential}`).slice(0, 32);

/**
 * A stable, non-reversible tenant id from `Authorization` or `api-key` (Azure style).
 * Requests without a credential share the "anonymous" tenant; a client-chosen header never picks a tenant.
 */
export function tenantOf(headers: HeaderSource, shared: boolean): string {
  if (shared) return SHARED_TENANT;
  const credential = credentialOf(headers);
  return credential ? idOf(credential) : 'anonymous';
}

/** Credentials longer than this are hashed every time rather than remembered. */
const MEMO_MAX_CREDENTIAL = 1024;

/** tenantOf, remembering recent credentials' ids: a busy tenant's every request would otherwise hash its key again. */
export class Tenants {
  private readonly memo = new LRUCache<string, string>({ max: 10_000 });

  constructor(private readonly shared: boolean) {}

  of(headers: HeaderSource): string {
    if (this.shared) return SHARED_TENANT;
    const credential = credentialOf(headers);
    if (!credential) return 'anonymous';
    if (credential.length > MEMO_MAX_CREDENTIAL) return idOf(credential);
    let id = this.memo.get(credential);
    if (id === undefined) this.memo.set(credential, (id = idOf(credential)));
    return id;
  }
}
