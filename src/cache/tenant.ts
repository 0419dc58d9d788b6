/** @module cache/tenant: who owns an entry, derived from the caller's credential (DESIGN: cache-key contract 2). */
import { sha256 } from './hash.js';

/** Tenant id used when the operator turns on one shared cache for all credentials. */
export const SHARED_TENANT = 'shared';

/**
 * A stable, non-reversible tenant id from `Authorization` or `api-key` (Azure style).
 * Requests without a credential share the "anonymous" tenant; a client-chosen header never picks a tenant.
 */
/** Anything headers can be read from by lower-case name: a RequestView's headers, or a Web Headers object. */
export interface HeaderSource {
  get(name: string): string | null | undefined;
}

export function tenantOf(headers: HeaderSource, shared: boolean): string {
  if (shared) return SHARED_TENANT;
  // Both headers count: a client may send a placeholder Authorization next to its real api-key.
  const authorization = headers.get('authorization')?.trim() ?? '';
  const apiKey = headers.get('api-key')?.trim() ?? '';
  if (!authorization && !apiKey) return 'anonymous';
  return sha256(`reprise-tenant\u0000${authorization}\u0000${apiKey}`).slice(0, 32);
}
