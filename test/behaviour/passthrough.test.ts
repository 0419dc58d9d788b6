/** Every other /v1/ route goes upstream unchanged: method, headers, body, status, streaming both ways. */
import { request } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { useHarness } from '../helpers/harness.js';

const h = useHarness();

function rawRequest(url: string, method: string, headers: Record<string, string>, body: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Echo {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

describe('pass-through', () => {
  it('the SDK lists models through Reprise', async () => {
    const models = await h.client().models.list();
    expect(models.data.map((m) => m.id)).toContain('fake-model');
  });

  it('forwards method, path, query, body and Authorization as is, and drops hop-by-hop headers', async () => {
    // node:http, because fetch refuses to send a Connection header that lists other headers.
    const res = await rawRequest(`${h.reprise.url}/v1/files/abc?purpose=batch&x=1`, 'PUT', {
      authorization: 'Bearer sk-live-123',
      'x-custom': 'kept',
      'content-type': 'text/plain',
      connection: 'keep-alive, x-drop-me',
      'x-drop-me': 'gone',
      te: 'trailers',
    }, 'raw body \u00e9');
    expect(res.status).toBe(200);
    const echo = JSON.parse(res.body) as Echo;
    expect(echo.method).toBe('PUT');
    expect(echo.path).toBe('/v1/files/abc');
    expect(echo.query).toEqual({ purpose: 'batch', x: '1' });
    expect(echo.body).toBe('raw body \u00e9');
    expect(echo.headers.authorization).toBe('Bearer sk-live-123');
    expect(echo.headers['x-custom']).toBe('kept');
    expect(echo.headers['x-drop-me']).toBeUndefined();
    expect(echo.headers.te).toBeUndefined();
    expect(res.headers['x-request-id']).toMatch(/^req_fake_/);
  });

  it('passes upstream status codes and bodies through', async () => {
    const res = await fetch(`${h.reprise.url}/v1/whatever`, { method: 'DELETE', headers: { 'x-echo-status': '418' } });
    expect(res.status).toBe(418);
    expect(((await res.json()) as Echo).method).toBe('DELETE');
  });

  it('streams a response through as it arrives', async () => {
    let release!: () => void;
    h.up.next({ holdUntil: new Promise<void>((r) => (release = r)) });
    const res = await fetch(`${h.reprise.url}/v1/stream-me`, { method: 'POST', headers: { 'x-echo-stream': '3' } });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe('line 1\n');
    release();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toBe('line 2\nline 3\n');
  });

  it('streams a request body upstream', async () => {
    const parts = ['alpha,', 'beta,', 'gamma'];
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        const p = parts.shift();
        if (p) c.enqueue(new TextEncoder().encode(p));
        else c.close();
      },
    });
    const res = await fetch(`${h.reprise.url}/v1/uploads`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(((await res.json()) as Echo).body).toBe('alpha,beta,gamma');
  });

  it('a client that disconnects aborts the upstream call', async () => {
    h.up.next({ chunkDelayMs: 200 });
    const controller = new AbortController();
    const res = await fetch(`${h.reprise.url}/v1/slow`, { method: 'POST', headers: { 'x-echo-stream': '50' }, signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await vi.waitFor(() => expect(h.up.aborted).toBe(1));
  });
});
