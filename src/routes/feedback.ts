/**
 * @module routes/feedback: a client reports a wrong hit, and the entry is evicted at once.
 * Either `POST /v1/cache/feedback {"id": "<X-Cache-Id>", "verdict": "wrong"}`, or the header
 * `X-Cache-Feedback: wrong=<X-Cache-Id>` on any later request. A caller can only evict its own tenant's entries.
 */
import { z } from 'zod';
import type { ErrorBudget } from '../cache/error-budget.js';
import type { Tenants } from '../cache/tenant.js';
import { TOO_LARGE, type Reply, type RequestView } from '../http/types.js';
import { InvalidRequestError, NotFoundError, PayloadTooLargeError } from '../openai/errors.js';
import { parseJson } from '../openai/request.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';
import { parseEntryId, type Store } from '../store/types.js';
import { jsonReply } from './reply.js';

export interface FeedbackDeps {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  /** undefined until the tenant secret is known */
  tenants: () => Tenants | undefined;
  bodyLimit: number;
  /** --max-error-rate: a reported semantic hit teaches the budget that entry needs a closer query */
  budget?: ErrorBudget;
}

const body = z.looseObject({ id: z.string().min(1), verdict: z.enum(['wrong']).default('wrong') });

/** Evict `id` if it belongs to the caller's tenant. */
async function evict(deps: FeedbackDeps, view: Pick<RequestView, 'headers' | 'url'>, id: string): Promise<boolean> {
  const at = parseEntryId(id);
  const tenants = deps.tenants();
  if (!at || !tenants) return false;
  const entry = await deps.store.getExact(at.scope, at.textKey);
  const q = view.url.indexOf('?');
  if (!entry || entry.tenant !== tenants.of(view.headers, q < 0 ? '' : view.url.slice(q + 1))) return false;
  const deleted = await deps.store.delete(entry.id);
  if (deleted) {
    deps.metrics.feedback();
    if (deps.budget) deps.metrics.budgetReport(deps.budget.reportWrong(entry.id), deps.budget.stats());
    deps.logger.info({ match: entry.vector ? 'semantic' : 'exact' }, 'entry evicted on feedback');
  }
  return deleted;
}

/** `POST /v1/cache/feedback`. */
export async function feedbackRoute(deps: FeedbackDeps, view: RequestView): Promise<Reply> {
  const raw = await view.readBody(deps.bodyLimit);
  if (raw === TOO_LARGE) throw new PayloadTooLargeError(deps.bodyLimit);
  const parsed = body.safeParse(parseJson(new TextDecoder().decode(raw)));
  if (!parsed.success) throw new InvalidRequestError('Send {"id": "<X-Cache-Id of the wrong hit>", "verdict": "wrong"}.', 'id');
  if (!(await evict(deps, view, parsed.data.id))) throw new NotFoundError(`cache entry ${parsed.data.id}`);
  return jsonReply(200, { evicted: true, id: parsed.data.id });
}

/** `X-Cache-Feedback: wrong=<id>` (the header's value is `said`) on any /v1/ request evicts that entry before the request goes on. */
export async function feedbackHeader(deps: FeedbackDeps, view: Pick<RequestView, 'headers' | 'url'>, said: string): Promise<void> {
  const m = /^\s*wrong\s*=\s*(\S+)\s*$/i.exec(said);
  if (!m) return;
  // Feedback is advice: a fault while evicting never fails the request that carried it.
  await evict(deps, view, m[1]!).catch((err: Error) => deps.logger.warn({ err: err.message }, 'feedback eviction failed'));
}
