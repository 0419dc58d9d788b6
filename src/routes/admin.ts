/**
 * @module routes/admin: purge entries by tenant, namespace or model, and delete one entry by id.
 * Off unless an admin token is configured; every call needs `Authorization: Bearer <token>`.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { tenantOf } from '../cache/tenant.js';
import { InvalidRequestError, NotFoundError, RepriseError } from '../openai/errors.js';
import { parseJson } from '../openai/request.js';
import type { Logger } from '../observe/logger.js';
import type { PurgeFilter, Store } from '../store/types.js';

export interface AdminDeps {
  token: string;
  store: Store;
  logger: Logger;
}

const purgeBody = z.strictObject({
  tenant: z.string().min(1).optional(),
  /** an API key; hashed into its tenant id here, as the proxy does for `Authorization: Bearer <key>` */
  api_key: z.string().min(1).optional(),
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
function sameToken(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}

export function adminRoutes({ token, store, logger }: AdminDeps): Hono {
  const admin = new Hono();

  admin.use(async function requireAdminToken(c, next) {
    const auth = c.req.header('authorization') ?? '';
    if (!auth.startsWith('Bearer ') || !sameToken(auth.slice(7), token)) throw new UnauthorizedError();
    await next();
  });

  admin.post('/purge', async (c) => {
    const parsed = purgeBody.safeParse(parseJson(await c.req.text()));
    if (!parsed.success) throw new InvalidRequestError(`Invalid purge filter: ${parsed.error.issues[0]!.message}.`, String(parsed.error.issues[0]!.path[0] ?? ''));
    const { api_key, ...rest } = parsed.data;
    const filter: PurgeFilter = { ...rest };
    if (api_key) filter.tenant = await tenantOf(new Headers({ authorization: `Bearer ${api_key}` }), false);
    if (Object.values(filter).every((v) => v === undefined)) {
      throw new InvalidRequestError('Name at least one of tenant, api_key, namespace or model to purge.', null);
    }
    const deleted = await store.purge(filter);
    logger.info({ filter: { ...filter, tenant: filter.tenant && `${filter.tenant.slice(0, 8)}…` }, deleted }, 'purge');
    return c.json({ deleted });
  });

  admin.delete('/entries/:id', async (c) => {
    const deleted = await store.delete(c.req.param('id'));
    if (!deleted) throw new NotFoundError(c.req.path);
    return c.json({ deleted: true });
  });

  return admin;
}
