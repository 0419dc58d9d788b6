/**
 * Forwarding: what goes upstream and what comes back, byte for byte, for requests the cache leaves alone (the cache
 * off, controls that neither read nor write it, every other /v1/ route). The upstream here answers with exactly the
 * headers a test scripts, repeats and hop-by-hop ones included, and records exactly what it got.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { Running } from '../../src/node/server.js';
import { silentLogger } from '../../src/observe/logger.js';
import { FRONT, startFront } from '../helpers/front.js';
import { bundledEmbedder, FakeClock } from '../helpers/harness.js';
import { exchange, type RawResponse } from '../helpers/raw-http.js';

const AUTH: Array<[string, string]> = [
  ['Authorization', 'Bearer sk-test-a'],
  ['Content-Type', 'application/json'],
];
const chatBody = (text: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], ...extra });

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Scripted {
  status: number;
  /** name, value, name, value, ... exactly as written */
  headers: string[];
  /** written one by one */
  body: string[];
}

/** An upstream that answers with whatever a test scripts, headers exactly as given, and records what it got. */
async function scriptedUpstream() {
  const seen: Seen[] = [];
  let answer: (req: IncomingMessage) => Scripted = () => ({ status: 200, headers: ['Content-Type', 'application/json'], body: ['{}'] });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // Host and Connection are about the proxy's own upstream connection. Framing too: a body may go with its
      // length or chunked.
      const { host: _host, connection: _connection, 'content-length': _length, 'transfer-encoding': _chunked, ...headers } = req.headers;
      seen.push({ method: req.method!, url: req.url!, headers, body: Buffer.concat(chunks).toString('utf8') });
      const a = answer(req);
      res.writeHead(a.status, a.headers);
      for (const b of a.body) res.write(b);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    seen,
    answer: (f: typeof answer) => (answer = f),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const start = (upstream: string, cache: 'true' | 'false') =>
  startFront(parseConfig({ port: '0', host: '127.0.0.1', upstream, cache, 'log-level': 'silent' }, {}), {
    embedder: bundledEmbedder(),
    logger: silentLogger,
    now: new FakeClock().now,
  });

let up: Awaited<ReturnType<typeof scriptedUpstream>>;
/** caching off */
let off: Running;
/** caching on */
let on: Running;

beforeAll(async () => {
  up = await scriptedUpstream();
  [off, on] = await Promise.all([start(up.url, 'false'), start(up.url, 'true')]);
  await on.ready;
});
afterAll(async () => {
  await off?.close();
  await on?.close();
  await up?.close();
});
beforeEach(() => {
  up.seen.length = 0;
});

/** Send one request; it must reach upstream exactly once. */
async function send(r: Running, method: string, path: string, headers: Array<[string, string]>, body = ''): Promise<{ response: RawResponse; upstream: Seen }> {
  up.seen.length = 0;
  const response = await exchange(r.url, method, path, headers, body);
  expect(up.seen).toHaveLength(1);
  return { response, upstream: up.seen[0]! };
}

const byName = (a: [string, string], b: [string, string]) => a[0].localeCompare(b[0]);

/**
 * A forwarded answer's header lines (Date and Connection aside), sorted by name, repeats in the order sent. Framing
 * (Transfer-Encoding, Content-Length) is left out: a streamed answer may go either way; its body is checked instead.
 */
const headLines = (r: RawResponse) => r.lines.filter(([n]) => n !== 'transfer-encoding' && n !== 'content-length').sort(byName);
const sortedLines = (lines: Array<[string, string]>) => [...lines].sort(byName);

describe('the cache off', () => {
  it('a chat request is validated, forwarded as sent but for Reprise\'s own headers, and marked BYPASS / disabled', async () => {
    up.answer(() => ({ status: 200, headers: ['Content-Type', 'application/json', 'X-Request-Id', 'req_1'], body: ['{"id":"chatcmpl-1"}'] }));
    const before = off.metrics.snapshot();
    const { response, upstream } = await send(off, 'POST', '/v1/chat/completions', [...AUTH, ['X-Cache-Namespace', 'dropped'], ['Cache-Control', 'no-store']], chatBody('hi'));
    expect(response.statusLine).toBe('HTTP/1.1 200 OK');
    expect(headLines(response)).toEqual(
      sortedLines([
        ['content-type', 'application/json'],
        ['x-request-id', 'req_1'],
        ['x-cache-status', 'BYPASS'],
        ['x-cache-reason', 'disabled'],
      ]),
    );
    expect(response.text).toBe('{"id":"chatcmpl-1"}');
    expect(upstream).toEqual({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: 'Bearer sk-test-a', 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: chatBody('hi'),
    });
    const after = off.metrics.snapshot();
    expect(after.requests.BYPASS - before.requests.BYPASS).toBe(1);
    expect(after.upstreamCalls - before.upstreamCalls).toBe(1);
  });

  it('an upstream that cannot be reached is a 502 in OpenAI error shape', async () => {
    const dead = await start('http://127.0.0.1:9/v1', 'false');
    try {
      const r = await exchange(dead.url, 'POST', '/v1/chat/completions', AUTH, chatBody('hi'));
      expect(r.statusLine).toBe('HTTP/1.1 502 Bad Gateway');
      expect(r.header('content-type')).toBe('application/json');
      expect(r.header('content-length')).toBe(String(r.body.length));
      expect(JSON.parse(r.text)).toMatchObject({ error: { type: expect.any(String), code: 'upstream_unavailable', message: expect.any(String) } });
    } finally {
      await dead.close();
    }
  });
});

describe('the cache on: controls that neither read nor write it', () => {
  it.each([
    [[['Cache-Control', 'no-store']], 'no-store'],
    [[['Cache-Control', 'no-cache'], ['X-Cache-Ttl', '0']], 'no-cache'],
    [[['Cache-Control', 'max-age=0'], ['X-Cache-Ttl', '0'], ['X-Cache-Namespace', 'app-a']], 'max-age=0'],
  ] as Array<[Array<[string, string]>, string]>)('%j: forwarded as sent, marked BYPASS / %s, nothing stored', async (controls, reason) => {
    up.answer(() => ({ status: 200, headers: ['Content-Type', 'application/json'], body: ['{"id":"chatcmpl-2"}'] }));
    const before = on.metrics.snapshot();
    const { response, upstream } = await send(on, 'POST', '/v1/chat/completions', [...AUTH, ...controls], chatBody('hello there'));
    expect(response.statusLine).toBe('HTTP/1.1 200 OK');
    expect(headLines(response)).toEqual(sortedLines([['content-type', 'application/json'], ['x-cache-status', 'BYPASS'], ['x-cache-reason', reason]]));
    expect(response.text).toBe('{"id":"chatcmpl-2"}');
    expect(upstream).toEqual({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: 'Bearer sk-test-a', 'content-type': 'application/json', 'cache-control': controls[0]![1] },
      body: chatBody('hello there'),
    });
    const after = on.metrics.snapshot();
    expect(after.requests.BYPASS - before.requests.BYPASS).toBe(1);
    expect(after.upstreamCalls - before.upstreamCalls).toBe(1);
    expect(on.store.size()).toBe(0);
  });

  it('no-cache alone writes the cache, so the answer is asked for uncompressed, and marked BYPASS / no-cache', async () => {
    up.answer(() => ({ status: 200, headers: ['Content-Type', 'application/json'], body: ['{"id":"chatcmpl-3","object":"chat.completion","choices":[]}'] }));
    const { response, upstream } = await send(on, 'POST', '/v1/chat/completions', [...AUTH, ['Cache-Control', 'no-cache']], chatBody('hello again'));
    expect(response.statusLine).toBe('HTTP/1.1 200 OK');
    expect(headLines(response)).toEqual(sortedLines([['content-type', 'application/json'], ['x-cache-status', 'BYPASS'], ['x-cache-reason', 'no-cache']]));
    expect(response.text).toBe('{"id":"chatcmpl-3","object":"chat.completion","choices":[]}');
    expect(upstream).toEqual({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { authorization: 'Bearer sk-test-a', 'content-type': 'application/json', 'cache-control': 'no-cache', 'accept-encoding': 'identity' },
      body: chatBody('hello again'),
    });
  });
});

describe('other /v1/ routes', () => {
  it('method, path, query, body and headers go upstream as sent, hop-by-hop and Reprise\'s own headers aside; the answer comes back with its status, headers and body', async () => {
    up.answer(() => ({
      status: 201,
      headers: ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Dup', 'one', 'X-Dup', 'two', 'Connection', 'x-hop', 'X-Hop', 'gone', 'X-Kept', ' padded '],
      body: ['part one,', 'part two'],
    }));
    const { response, upstream } = await send(
      off,
      'PUT',
      '/v1/files/abc?purpose=batch&x=1',
      [['Authorization', 'Bearer sk-live'], ['X-Custom', 'kept'], ['X-Twice', 'a'], ['X-Twice', 'b'], ['Connection', 'keep-alive, x-drop-me'], ['X-Drop-Me', 'no'], ['TE', 'trailers'], ['X-Cache-Ttl', '5']],
      'raw body \u00e9',
    );
    expect(response.statusLine).toBe('HTTP/1.1 201 Created');
    // Set-Cookie stays one line per cookie; other repeats are one line, joined; values are trimmed; a listed
    // hop-by-hop header is gone. Upstream sent no Content-Type: the Node front invents none, while the Web front is
    // served here through @hono/node-server, which adds text/plain to a Response without one (Workers add none).
    expect(headLines(response).filter(([n]) => n !== 'content-type')).toEqual(
      sortedLines([
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['x-dup', 'one, two'],
        ['x-kept', 'padded'],
        ['x-cache-status', 'BYPASS'],
        ['x-cache-reason', 'not-cacheable-route'],
      ]),
    );
    if (FRONT === 'node') expect(response.lines.map(([n]) => n)).not.toContain('content-type');
    expect(response.raw).not.toMatch(/x-hop/i);
    expect(response.text).toBe('part one,part two');
    expect(upstream).toEqual({
      method: 'PUT',
      url: '/v1/files/abc?purpose=batch&x=1',
      headers: { authorization: 'Bearer sk-live', 'x-custom': 'kept', 'x-twice': 'a, b' },
      body: 'raw body \u00e9',
    });
  });

  it('GET, DELETE, a 204 and an error status come back as upstream sent them', async () => {
    up.answer((req) =>
      req.method === 'DELETE'
        ? { status: 204, headers: ['X-Deleted', 'yes'], body: [] }
        : req.url!.includes('missing')
          ? { status: 404, headers: ['Content-Type', 'application/json'], body: ['{"error":{"message":"no"}}'] }
          : { status: 200, headers: ['Content-Type', 'application/json', 'Content-Length', '13'], body: ['{"data":[1,2]'] },
    );
    const bypass = (r: RawResponse) => {
      expect(r.header('x-cache-status')).toBe('BYPASS');
      expect(r.header('x-cache-reason')).toBe('not-cacheable-route');
    };
    const headers = { authorization: 'Bearer sk-test-a', 'content-type': 'application/json' };

    const list = await send(off, 'GET', '/v1/models', AUTH);
    expect(list.response.statusLine).toBe('HTTP/1.1 200 OK');
    expect(list.response.header('content-type')).toBe('application/json');
    bypass(list.response);
    expect(list.response.text).toBe('{"data":[1,2]');
    expect(list.upstream).toEqual({ method: 'GET', url: '/v1/models', headers, body: '' });

    const gone = await send(off, 'DELETE', '/v1/files/abc', AUTH);
    expect(gone.response.statusLine).toBe('HTTP/1.1 204 No Content');
    expect(gone.response.header('x-deleted')).toBe('yes');
    bypass(gone.response);
    expect(gone.response.body.length).toBe(0);
    expect(gone.upstream).toEqual({ method: 'DELETE', url: '/v1/files/abc', headers, body: '' });

    const missing = await send(off, 'GET', '/v1/files/missing', AUTH);
    expect(missing.response.statusLine).toBe('HTTP/1.1 404 Not Found');
    expect(missing.response.header('content-type')).toBe('application/json');
    bypass(missing.response);
    expect(missing.response.text).toBe('{"error":{"message":"no"}}');
    expect(missing.upstream).toEqual({ method: 'GET', url: '/v1/files/missing', headers, body: '' });
  });

  it.each([
    ['GET', '/v1/a/../models', AUTH, '', '/v1/models', ''],
    ['GET', '/v1/files%2Fx', AUTH, '', '/v1/files%2Fx', ''],
    ['GET', "/v1/models?q='x'", AUTH, '', '/v1/models?q=%27x%27', ''],
    ['HEAD', '/v1/models', AUTH, '', '/v1/models', ''],
    ['OPTIONS', '/v1/models', AUTH, '', '/v1/models', ''],
    ['POST', '/v1/uploads', [...AUTH, ['Transfer-Encoding', 'chunked']], '5\r\nhello\r\n0\r\n\r\n', '/v1/uploads', 'hello'],
  ] as Array<[string, string, Array<[string, string]>, string, string, string]>)(
    '%s %s: an odd URL, a rarer method or a body of unknown length goes upstream as a URL parser reads it',
    async (method, path, headers, body, upstreamUrl, upstreamBody) => {
      up.answer(() => ({ status: 200, headers: ['Content-Type', 'text/plain'], body: ['ok'] }));
      const { response, upstream } = await send(off, method, path, headers, body);
      expect(response.statusLine).toBe('HTTP/1.1 200 OK');
      expect(headLines(response)).toEqual(sortedLines([['content-type', 'text/plain'], ['x-cache-status', 'BYPASS'], ['x-cache-reason', 'not-cacheable-route']]));
      expect(response.text).toBe(method === 'HEAD' ? '' : 'ok');
      expect(upstream).toEqual({ method, url: upstreamUrl, headers: { authorization: 'Bearer sk-test-a', 'content-type': 'application/json' }, body: upstreamBody });
    },
  );
});
