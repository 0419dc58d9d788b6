/**
 * Every credential forms the tenant (DESIGN contract 2: Authorization, api-key, x-api-key, credentials in the query,
 * …), so two credentials never share entries; and the query string, which goes upstream, is in the scope (contract 1).
 */
import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/harness.js';
import { exchange as rawRequest } from '../helpers/raw-http.js';

const h = useHarness();

const BODY = (q: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }] });

describe('what keys a request besides Authorization and api-key', () => {
  it('two callers with different x-api-key credentials never share an entry', async () => {
    const a = await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [['x-api-key', 'sk-ant-tenant-A'], ['content-type', 'application/json']], BODY('What is our internal roadmap?'));
    expect(a.status).toBe(200);
    expect(h.up.calls[0]!.headers['x-api-key']).toBe('sk-ant-tenant-A'); // upstream authenticates on it
    const b = await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [['x-api-key', 'sk-ant-tenant-B'], ['content-type', 'application/json']], BODY('What is our internal roadmap?'));
    expect(b.header('x-cache-status'), "tenant B was served tenant A's answer").not.toBe('HIT');
  });

  it('two callers with different credentials in the query never share an entry', async () => {
    await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions?api-key=key-of-A', [['content-type', 'application/json']], BODY('Summarise my mailbox.'));
    expect(h.up.calls[0]!.path).toBe('/v1/chat/completions');
    const b = await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions?api-key=key-of-B', [['content-type', 'application/json']], BODY('Summarise my mailbox.'));
    expect(b.header('x-cache-status'), "caller B was served caller A's answer").not.toBe('HIT');
  });

  it('a query parameter that goes upstream (it may pick the deployment or version) is in the scope', async () => {
    const auth: Array<[string, string]> = [['authorization', 'Bearer sk-test-a'], ['content-type', 'application/json']];
    await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions?api-version=2024-02-01', auth, BODY('Which tools can you call?'));
    const b = await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions?api-version=2025-04-01', auth, BODY('Which tools can you call?'));
    expect(b.header('x-cache-status'), 'an answer for another api-version was served').not.toBe('HIT');
  });
});

describe('every credential header keeps tenants apart', () => {
  it.each([['x-api-key'], ['cookie'], ['x-goog-api-key'], ['openai-organization'], ['openai-project'], ['ocp-apim-subscription-key']])(
    'the same body with another %s is never served the first caller\'s answer',
    async (header) => {
      const q = `What does my ${header} account hold?`;
      const first = await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [[header, 'value-of-alice'], ['content-type', 'application/json']], BODY(q));
      expect(first.header('x-cache-status')).toBe('MISS');
      const again = await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [[header, 'value-of-alice'], ['content-type', 'application/json']], BODY(q));
      expect(again.header('x-cache-status'), 'the same caller hits').toBe('HIT');
      const other = await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [[header, 'value-of-mallory'], ['content-type', 'application/json']], BODY(q));
      expect(other.header('x-cache-status')).toBe('MISS');
      const none = await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [['content-type', 'application/json']], BODY(q));
      expect(none.header('x-cache-status'), 'a caller without a credential is never in a credential\'s tenant').toBe('MISS');
    },
  );

  it('?key= in the query keeps tenants apart, and never lands in the no-credential tenant', async () => {
    const q = 'What is in my Google project?';
    await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions?key=alice', [['content-type', 'application/json']], BODY(q));
    expect((await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions?key=alice', [['content-type', 'application/json']], BODY(q))).header('x-cache-status')).toBe('HIT');
    expect((await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions?key=mallory', [['content-type', 'application/json']], BODY(q))).header('x-cache-status')).toBe('MISS');
    expect((await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [['content-type', 'application/json']], BODY(q))).header('x-cache-status')).toBe('MISS');
  });
});
