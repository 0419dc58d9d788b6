/**
 * The credential headers of common gateways (Kong, Azure Functions, Portkey, LiteLLM, generic token headers) form the
 * tenant: a caller with no credential at all is never served the answer of a caller who sent one of them.
 */
import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/harness.js';
import { exchange as rawRequest } from '../helpers/raw-http.js';

const h = useHarness();
const BODY = (q: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }] });

describe('gateway credential headers', () => {
  it.each([
    ['apikey', 'Kong key-auth default'],
    ['x-functions-key', 'Azure Functions'],
    ['x-portkey-virtual-key', 'Portkey: picks the provider account'],
    ['x-litellm-api-key', 'LiteLLM proxy'],
    ['x-auth-token', 'generic'],
  ])('%s (%s) keeps its caller out of the no-credential tenant', async (header) => {
    const q = `What is on my ${header} account?`;
    const alice = await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [[header, 'secret-of-alice'], ['content-type', 'application/json']], BODY(q));
    expect(alice.status).toBe(200);
    const anon = await rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [['content-type', 'application/json']], BODY(q));
    expect(anon.header('x-cache-status'), `a caller without any credential got the ${header} caller's answer`).not.toBe('HIT');
  });
});
