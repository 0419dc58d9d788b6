/**
 * `Expect: 100-continue` is not forwarded: node:http answers the 100 itself (curl sends it for large uploads), and
 * undici refuses a request that carries it ("expect header not supported").
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/harness.js';

const h = useHarness();

function post(path: string, body: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(h.reprise.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, path, method: 'POST', headers: { authorization: 'Bearer sk-test-a', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.on('continue', () => req.end(body));
  });
}

describe('a client that sends Expect: 100-continue', () => {
  it('cached route: is answered by upstream, not refused with a 502', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Is Expect hop-by-hop?' }] }));
    expect(res.status, res.text).toBe(200);
  });

  it('pass-through route: is answered by upstream, not refused with a 502', async () => {
    const res = await post('/v1/files', '{}');
    expect(res.status, res.text).toBe(200);
  });
});
