/** Tests upstream/call and upstream/headers: where a forwarded request goes, and which headers go with it. */
import { describe, expect, it } from 'vitest';
import type { RequestHeaders } from '../../src/http/types.js';
import { RawHeaders } from '../../src/node/request-view.js';
import { upstreamBase, upstreamCall, type CallOptions } from '../../src/upstream/call.js';
import { upstreamRequestHeaders } from '../../src/upstream/headers.js';

const OPENAI = upstreamBase('https://api.openai.com/v1');
const AZURE = upstreamBase('https://x.openai.azure.com/openai/deployments/d?api-version=2024-10-21');

/** Headers as node:http's rawHeaders carries them: names as sent, repeats kept. */
const raw = (...pairs: Array<[string, string]>): RequestHeaders => new RawHeaders(pairs.flat());

const call = (base: typeof OPENAI, url: string, o: Partial<CallOptions> = {}) =>
  upstreamCall(base, { method: 'POST', url, headers: raw(), body: null, bodyLimit: 1024, identity: false, ...o });

describe('upstreamBase', () => {
  it('splits the configured URL into origin, path without trailing slash, and query', () => {
    expect(OPENAI).toEqual({ origin: 'https://api.openai.com', path: '/v1', query: '' });
    expect(upstreamBase('http://127.0.0.1:8080/v1/')).toEqual({ origin: 'http://127.0.0.1:8080', path: '/v1', query: '' });
    expect(upstreamBase('https://api.example.com')).toEqual({ origin: 'https://api.example.com', path: '', query: '' });
    expect(AZURE).toEqual({ origin: 'https://x.openai.azure.com', path: '/openai/deployments/d', query: 'api-version=2024-10-21' });
  });
});

describe('upstreamCall: the URL', () => {
  it('maps /v1/<route> onto the base path, with origin and path split', () => {
    const c = call(OPENAI, '/v1/chat/completions');
    expect(c).toMatchObject({ url: 'https://api.openai.com/v1/chat/completions', origin: 'https://api.openai.com', path: '/v1/chat/completions', method: 'POST', bodyLimit: 1024, body: null });
  });

  it('keeps the query', () => {
    expect(call(OPENAI, '/v1/models?limit=2&after=x%20y').url).toBe('https://api.openai.com/v1/models?limit=2&after=x%20y');
  });

  it("appends the route to a base with its own query, and merges the two queries", () => {
    expect(call(AZURE, '/v1/chat/completions')).toMatchObject({
      url: 'https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21',
      path: '/openai/deployments/d/chat/completions?api-version=2024-10-21',
    });
    expect(call(AZURE, '/v1/chat/completions?x=1').url).toBe('https://x.openai.azure.com/openai/deployments/d/chat/completions?x=1&api-version=2024-10-21');
  });

  it('/v1 alone maps to the base path', () => {
    expect(call(OPENAI, '/v1').url).toBe('https://api.openai.com/v1');
    expect(call(OPENAI, '/v1?x=1').url).toBe('https://api.openai.com/v1?x=1');
    expect(call(AZURE, '/v1').url).toBe('https://x.openai.azure.com/openai/deployments/d?api-version=2024-10-21');
  });

  it('/v1 is only stripped as a whole segment', () => {
    expect(call(OPENAI, '/v1x/models').url).toBe('https://api.openai.com/v1/v1x/models');
  });

  it('the host always comes from the configuration, never from the client', () => {
    const hostile = ['/v1//evil.example/x', '/v1/@evil.example', '/v1@evil.example', '/v1/..//evil.example', '/v1\\\\evil.example/x', '/v1:443@evil.example/', '/v1?@evil.example'];
    for (const base of [OPENAI, AZURE, upstreamBase('https://api.example.com'), upstreamBase('http://127.0.0.1:8080/v1')]) {
      for (const url of hostile) {
        const c = call(base, url);
        expect(c.origin, url).toBe(base.origin);
        expect(c.url, url).toBe(`${base.origin}${c.path}`);
        expect(new URL(c.url).origin, `${url} on ${base.origin}`).toBe(base.origin);
      }
    }
  });
});

describe('upstreamCall: the headers', () => {
  it('drops hop-by-hop headers, x-cache-* controls and names listed in Connection; joins repeats with ", "', () => {
    const headers = raw(
      ['Host', 'localhost:8787'],
      ['Authorization', 'Bearer sk-1'],
      ['Connection', 'keep-alive, X-Secret-Hop'],
      ['Keep-Alive', 'timeout=5'],
      ['Transfer-Encoding', 'chunked'],
      ['Content-Length', '42'],
      ['TE', 'trailers'],
      ['Upgrade', 'h2c'],
      ['Proxy-Authorization', 'Basic eA=='],
      ['X-Secret-Hop', '1'],
      ['X-Cache-TTL', '60'],
      ['x-cache-namespace', 'team'],
      ['Content-Type', 'application/json'],
      ['Accept', 'application/json'],
      ['Accept', 'text/event-stream'],
      ['OpenAI-Organization', 'org-1'],
    );
    expect(call(OPENAI, '/v1/chat/completions', { headers }).headers).toEqual({
      authorization: 'Bearer sk-1',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'openai-organization': 'org-1',
    });
  });

  it('asks for accept-encoding: identity only when identity is true', () => {
    const headers = raw(['Accept-Encoding', 'gzip, br']);
    expect(call(OPENAI, '/v1/chat/completions', { headers, identity: false }).headers).toEqual({ 'accept-encoding': 'gzip, br' });
    expect(call(OPENAI, '/v1/chat/completions', { headers, identity: true }).headers).toEqual({ 'accept-encoding': 'identity' });
    expect(call(OPENAI, '/v1/chat/completions', { headers: raw(), identity: false }).headers).toEqual({});
    expect(call(OPENAI, '/v1/chat/completions', { headers: raw(), identity: true }).headers).toEqual({ 'accept-encoding': 'identity' });
  });

  it('joins repeats in the order a Web Headers object does', () => {
    const pairs: Array<[string, string]> = [['x-a', '1'], ['x-b', '2'], ['x-a', '3']];
    const web: Record<string, string> = {};
    new Headers(pairs).forEach((v, k) => (web[k] = v));
    expect(upstreamRequestHeaders(pairs, false)).toEqual(web);
  });
});
