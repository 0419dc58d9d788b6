/**
 * @module routes/admin: purge entries by tenant, namespace or model, and delete one entry by id.
 * Off unless an admin token is configured; every call needs `Authorization: Bearer <token>`.
 */
import { z } from 'zod';
import type { Tenants } from '../cache/tenant.js';
import { TOO_LARGE, type Reply, type RequestView } from '../http/types.js';
import { InvalidRequestError, NotFoundError, PayloadTooLargeError, RepriseError } from '../openai/errors.js';
import { parseJson } from '../openai/request.js';
import type { Logger } from '../observe/logger.js';
import type { PurgeFilter, Store } from '../store/types.js';
import { jsonReply } from './reply.js';

export interface AdminDeps {
  token: string;
  store: Store;
  logger: Logger;
  /** undefined until the tenant secret is known */
  tenants: () => Tenants | undefined;
  bodyLimit: number;
}

const purgeBody = z.strictObject({
  tenant: z.string().min(1).optional(),
  /** an API key; hashed into its tenant id here, as the proxy does for `Authorization: Bearer <key>` */
  api_key: z.string().trim().min(1).optional(),
  namespace: z.string().optional(),
  model: z.string().min(1).optional(),
});

class UnauthorizedError extends RepriseError {
  override readonly name = 'UnauthorizedError';
  constructor() {
    super('The admin API needs Authorization: Bearer <admin token>.', 401, 'invalid_request_error', 'invalid_admin_token');
  }
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
export function sameToken(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}

/**
 * `/admin/*`, when an admin token is configured. `path` is the request's path without its query.
 * Resolves with the reply; throws a RepriseError for a bad call.
 */
export async function adminRoute({ token, store, logger, tenants, bodyLimit }: AdminDeps, view: RequestView, path: string): Promise<Reply> {
  const auth = view.headers.get('authorization') ?? '';
  if (!auth.startsWith('Bearer ') || !sameToken(auth.slice(7), token)) throw new UnauthorizedError();

  if (path === '/admin/purge' && view.method === 'POST') {
    const raw = await view.readBody(bodyLimit);
    if (raw === TOO_LARGE) throw new PayloadTooLargeError(bodyLimit);
    const parsed = purgeBody.safeParse(parseJson(new TextDecoder().decode(raw)));
    if (!parsed.success) throw new InvalidRequestError(`Invalid purge filter: ${parsed.error.issues[0]!.message}.`, String(parsed.error.issues[0]!.path[0] ?? ''));
    const { api_key, ...rest } = parsed.data;
    const filter: PurgeFilter = { ...rest };
    if (api_key) {
      const t = tenants();
      if (!t) throw new RepriseError('The tenant secret is not known yet (the Redis store is still connecting); try again.', 503, 'server_error', 'not_ready');
      filter.tenant = t.ofApiKey(api_key);
    }
    if (Object.values(filter).every((v) => v === undefined)) {
      throw new InvalidRequestError('Name at least one of tenant, api_key, namespace or model to purge.', null);
    }
    const deleted = await store.purge(filter);
    logger.info({ filter: { ...filter, tenant: filter.tenant && `${filter.tenant.slice(0, 8)}…` }, deleted }, 'purge');
    return jsonReply(200, { deleted });
  }

  const entry = /^\/admin\/entries\/([^/]+)$/.exec(path);
  if (entry && view.method === 'DELETE') {
    let id: string;
    try {
      id = decodeURIComponent(entry[1]!);
    } catch {
      throw new NotFoundError(path);
    }
    if (!(await store.delete(id))) throw new NotFoundError(path);
    return jsonReply(200, { deleted: true });
  }
  throw new NotFoundError(path);
}
