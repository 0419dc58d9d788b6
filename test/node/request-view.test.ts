/** Tests node/request-view: RawHeaders over rawHeaders, and readBody's limit and disconnects on a real node:http server. */
import { createServer, request, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOO_LARGE } from '../../src/http/types.js';
import { RawHeaders, viewOf } from '../../src/node/request-view.js';
import { ClientClosedError } from '../../src/openai/errors.js';

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

describe('RawHeaders', () => {
  const pairs: Array<[string, string]> = [
    ['Content-Type', 'application/json'],
    ['X-Multi', 'a'],
    ['Authorization', 'Bearer sk-1'],
    ['x-multi', 'b, c'],
    ['X-MULTI', 'd'],
    ['Set-Cookie', 'k=1'],
    ['set-cookie', 'k=2'],
  ];
  const h = new RawHeaders(pairs.flat());
  const web = new Headers(pairs);

  it('get is case-insensitive on the stored names and joins repeats with ", " as a Web Headers object does', () => {
    for (const name of ['content-type', 'x-multi', 'authorization']) {
      expect(h.get(name), name).toBe(web.get(name));
    }
    expect(h.get('x-multi')).toBe('a, b, c, d');
    // Headers.get joins Set-Cookie too (getSetCookie keeps them apart).
    expect(h.get('set-cookie')).toBe(web.get('set-cookie'));
    expect(h.get('set-cookie')).toBe('k=1, k=2');
  });

  it('get matches without regard to the case of the name asked for, too (RequestHeaders: "Names are matched without regard to case")', () => {
    for (const name of ['X-Multi', 'CONTENT-TYPE', 'Authorization', 'x-MULTI']) {
      expect(h.get(name), name).toBe(web.get(name));
    }
  });

  it('get returns undefined when the header is absent, where Headers returns null', () => {
    expect(h.get('x-absent')).toBeUndefined();
    expect(web.get('x-absent')).toBeNull();
    expect(new RawHeaders([]).get('content-type')).toBeUndefined();
    // A longer or shorter name that shares a prefix is another header.
    expect(h.get('x-mult')).toBeUndefined();
    expect(h.get('x-multii')).toBeUndefined();
  });

  it('list() lower-cases names and keeps order and repeats', () => {
    expect(h.list()).toEqual(pairs.map(([n, v]) => [n.toLowerCase(), v]));
  });

  it('reads headers as node:http received them, repeats included', async () => {
    let seen: RawHeaders | undefined;
    const server = createServer((req, res) => {
      seen = new RawHeaders(req.rawHeaders);
      res.end();
    });
    const port = await listen(server);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', method: 'GET', path: '/', agent: false, headers: ['Host', '127.0.0.1', 'X-Multi', 'a', 'x-multi', 'b', 'Accept', '*/*'] }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    await close(server);
    expect(seen!.get('x-multi')).toBe('a, b');
    expect(seen!.list().filter(([n]) => n === 'x-multi')).toEqual([['x-multi', 'a'], ['x-multi', 'b']]);
  });
});

/** What one request's readBody settled with, on the server side. */
type Read = { body: Buffer } | { tooLarge: true } | { error: unknown };

describe('viewOf(req).readBody', () => {
  const LIMIT = 64;
  let server: Server;
  let port: number;
  /** per request path, the server's handling of it */
  const handlers = new Map<string, (req: IncomingMessage) => void>();
  const reads = new Map<string, Promise<Read>>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url!;
      const read = viewOf(req)
        .readBody(LIMIT)
        .then(
          (r): Read => (r === TOO_LARGE ? { tooLarge: true } : { body: Buffer.from(r) }),
          (error: unknown): Read => ({ error }),
        );
      reads.set(path, read);
      handlers.get(path)?.(req);
      void read.then((r) => {
        if ('error' in r) return;
        res.writeHead('body' in r ? 200 : 413, { connection: 'close' });
        res.end('body' in r ? r.body : undefined);
      });
    });
    port = await listen(server);
  });

  afterAll(() => close(server));

  /** Start a request; resolves with the client request once the server has it. */
  function send(path: string, headers: Record<string, string | number>): { req: ClientRequest; response: Promise<{ status: number; body: string }> } {
    const req = request({ port, host: '127.0.0.1', method: 'POST', path, agent: false, headers });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    // A test that breaks the connection on purpose need not await the response.
    response.catch(() => {});
    return { req, response };
  }

  /** Resolves once the server has seen the request for `path` and started reading it. */
  function serverGot(path: string): Promise<Promise<Read>> {
    return new Promise((resolve) => {
      handlers.set(path, () => resolve(reads.get(path)!));
    });
  }

  it('a body under the limit with a Content-Length comes back whole', async () => {
    const body = Buffer.from('{"héllo":"wörld 😀"}');
    const got = serverGot('/whole');
    const { req, response } = send('/whole', { 'content-length': body.length });
    req.end(body);
    expect(await (await got)).toEqual({ body });
    expect(await response).toEqual({ status: 200, body: body.toString('utf8') });
  });

  it('an empty body is an empty array', async () => {
    const got = serverGot('/empty');
    const { req, response } = send('/empty', { 'content-length': 0 });
    req.end();
    const r = await (await got);
    expect(r).toEqual({ body: Buffer.alloc(0) });
    expect((await response).status).toBe(200);
  });

  it('a chunked body sent in several chunks, each after the server has the last, comes back whole', async () => {
    const pieces = ['{"a":', '"héllo ', 'wörld', ' 😀"}'].map((s) => Buffer.from(s));
    const arrived: Buffer[] = [];
    let next: (() => void) | undefined;
    handlers.set('/chunked', (req) => {
      // A second listener sees the same data events readBody does: the next piece is sent only once one arrived.
      req.on('data', (c: Buffer) => {
        arrived.push(c);
        next?.();
      });
    });
    const { req, response } = send('/chunked', { 'transfer-encoding': 'chunked' });
    for (const p of pieces.slice(0, -1)) {
      await new Promise<void>((resolve) => {
        next = resolve;
        req.write(p);
      });
    }
    next = undefined;
    req.end(pieces.at(-1));
    const whole = Buffer.concat(pieces);
    expect(await response).toEqual({ status: 200, body: whole.toString('utf8') });
    expect(await reads.get('/chunked')).toEqual({ body: whole });
    expect(arrived.length).toBeGreaterThanOrEqual(pieces.length);
  });

  it('a body of exactly the limit comes back whole', async () => {
    const body = Buffer.alloc(LIMIT, 'x');
    const got = serverGot('/exact');
    const { req, response } = send('/exact', { 'transfer-encoding': 'chunked' });
    req.end(body);
    expect(await (await got)).toEqual({ body });
    expect((await response).status).toBe(200);
  });

  it('a Content-Length over the limit is TOO_LARGE at once, before any body byte is sent', async () => {
    const got = serverGot('/declared');
    const { req, response } = send('/declared', { 'content-length': LIMIT + 1 });
    req.flushHeaders(); // headers only: the body never comes
    expect(await (await got)).toEqual({ tooLarge: true });
    expect((await response).status).toBe(413);
    req.destroy();
  });

  it('a chunked body that passes the limit is TOO_LARGE as soon as it does, while the client is still sending', async () => {
    const got = serverGot('/over');
    const { req, response } = send('/over', { 'transfer-encoding': 'chunked' });
    req.write(Buffer.alloc(LIMIT - 1, 'a'));
    req.write(Buffer.alloc(2, 'b'));
    // No end(): the request is still open when the limit is passed.
    expect(await (await got)).toEqual({ tooLarge: true });
    expect((await response).status).toBe(413);
    req.destroy();
  });

  it('a client that disconnects mid-body rejects with ClientClosedError', async () => {
    let firstData!: () => void;
    const dataArrived = new Promise<void>((resolve) => (firstData = resolve));
    handlers.set('/gone', (req) => req.once('data', () => firstData()));
    const { req } = send('/gone', { 'content-length': 40 });
    req.on('error', () => {}); // the socket is destroyed on purpose
    req.write(Buffer.alloc(10, 'x'));
    await dataArrived;
    req.destroy();
    const r = await reads.get('/gone')!;
    expect('error' in r && r.error).toBeInstanceOf(ClientClosedError);
  });
});
