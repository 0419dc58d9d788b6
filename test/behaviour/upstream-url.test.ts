/**
 * The upstream is fixed by configuration: an upstream URL with a query (Azure's `?api-version=`) has each route
 * appended to its path and the two queries merged, and no header or path trick reaches another host.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { Running } from '../../src/node/server.js';
import { silentLogger } from '../../src/observe/logger.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { startFront } from '../helpers/front.js';
import { bundledEmbedder } from '../helpers/harness.js';
import { exchange } from '../helpers/raw-http.js';

let up: FakeUpstream;
let reprise: Running;
beforeAll(async () => {
  up = await startFakeUpstream();
  const config = parseConfig({ port: '0', host: '127.0.0.1', upstream: `${up.url}?api-version=2024-10-21`, 'log-level': 'silent' }, {});
  reprise = await startFront(config, { embedder: bundledEmbedder(), logger: silentLogger });
  await reprise.ready;
});
afterAll(async () => {
  await reprise?.close();
  await up?.close();
});

const AUTH: Array<[string, string]> = [['authorization', 'Bearer sk-azure'], ['content-type', 'application/json']];
const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Which region is this deployment in?' }] });

describe('an upstream URL with a query', () => {
  it('a cached route goes to <base path>/chat/completions?api-version=…, and is cached', async () => {
    up.reset();
    const first = await exchange(reprise.url, 'POST', '/v1/chat/completions', AUTH, BODY);
    expect(first.status).toBe(200);
    expect(up.calls[0]).toMatchObject({ path: '/v1/chat/completions', search: '?api-version=2024-10-21' });
    expect((await exchange(reprise.url, 'POST', '/v1/chat/completions', AUTH, BODY)).header('x-cache-status')).toBe('HIT');
  });

  it("another route's query is merged with the base's", async () => {
    up.reset();
    const res = await exchange(reprise.url, 'GET', '/v1/models?limit=2', AUTH);
    expect(res.status).toBe(200);
    expect(up.calls[0]).toMatchObject({ path: '/v1/models', search: '?limit=2&api-version=2024-10-21' });
  });

  it('no header or path trick reaches another host: Host, X-Forwarded-Host, a protocol-relative or absolute-form target', async () => {
    let evilCalls = 0;
    const evil = createServer((_req, res) => {
      evilCalls++;
      res.end('{}');
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const at = `127.0.0.1:${(evil.address() as AddressInfo).port}`;
    try {
      const tries: Array<[string, string, Array<[string, string]>]> = [
        ['GET', '/v1/models', [['X-Forwarded-Host', at], ['Forwarded', `host=${at}`]]],
        ['GET', `//${at}/v1/models`, []],
        ['GET', `/v1/../..//${at}/v1/models`, []],
        ['GET', `http://${at}/v1/models`, []],
        ['POST', `http://${at}/v1/chat/completions`, [['content-type', 'application/json']]],
        ['GET', `/v1/@${at}/models`, []],
      ];
      for (const [method, target, headers] of tries) await exchange(reprise.url, method, target, [...AUTH, ...headers], method === 'POST' ? BODY : '');
      expect(evilCalls).toBe(0);
    } finally {
      await new Promise<void>((r) => evil.close(() => r()));
    }
  });
});
