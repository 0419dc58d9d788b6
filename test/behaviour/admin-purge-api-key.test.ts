/**
 * POST /admin/purge {"api_key": K} reaches every entry of the key: sent as x-api-key rather than Bearer, and with an
 * organisation (the SDK's `organization`), so the operator is never told `{"deleted": 0}` while the answers stay.
 */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';
import { exchange as rawRequest } from '../helpers/raw-http.js';

const h = useHarness({ 'admin-token': 'admin-secret-token' });
const BODY = (q: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }] });
const purge = (apiKey: string) =>
  fetch(`${h.reprise.url}/admin/purge`, { method: 'POST', headers: { authorization: 'Bearer admin-secret-token', 'content-type': 'application/json' }, body: JSON.stringify({ api_key: apiKey }) }).then((r) => r.json() as Promise<{ deleted: number }>);

describe('admin purge by api_key', () => {
  it('a blank api_key is a 400 and purges nothing (it would name every organisation-only tenant)', async () => {
    await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [['openai-organization', 'org-only'], ['content-type', 'application/json']], BODY('What does an organisation alone know?'));
    const before = h.reprise.store.size();
    expect(before).toBeGreaterThan(0);
    const res = await fetch(`${h.reprise.url}/admin/purge`, { method: 'POST', headers: { authorization: 'Bearer admin-secret-token', 'content-type': 'application/json' }, body: JSON.stringify({ api_key: '  ' }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('api_key');
    expect(h.reprise.store.size()).toBe(before);
  });

  it('purges the answers of a caller who sends its key as x-api-key', async () => {
    const q = 'What is in my Anthropic-style account?';
    await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [['x-api-key', 'sk-ant-customer'], ['content-type', 'application/json']], BODY(q));
    expect(h.reprise.store.size()).toBe(1);
    const { deleted } = await purge('sk-ant-customer');
    expect(deleted, 'nothing was purged').toBe(1);
  });

  it('purges the answers of an SDK client that sets organization', async () => {
    const c = h.client('sk-org-customer', { organization: 'org-123' });
    await chat(c, ask('What does my organisation know?'));
    expect(h.reprise.store.size()).toBe(1);
    const { deleted } = await purge('sk-org-customer');
    expect(deleted, 'nothing was purged').toBe(1);
  });
});
