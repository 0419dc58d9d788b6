/**
 * The same request on the Node front and the Web front (both made from the same parts, against the same upstream)
 * gets the same cache treatment, odd request targets included (dot segments, escapes, absolute-form).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { silentLogger } from '../src/observe/logger.js';
import type { Running } from '../src/node/server.js';
import { startFakeUpstream, type FakeUpstream } from './fixtures/fake-upstream.js';
import { startFront } from './helpers/front.js';
import { exchange as rawRequest } from './helpers/raw-http.js';
import { SyntheticEmbedder } from './helpers/synthetic-embedder.js';

let up: FakeUpstream;
const fronts: Record<'node' | 'web', Running> = {} as never;

beforeAll(async () => {
  up = await startFakeUpstream();
  const config = parseConfig({ port: '0', host: '127.0.0.1', upstream: up.url, 'log-level': 'silent', 'body-limit': '1kb' }, {});
  for (const f of ['node', 'web'] as const) {
    fronts[f] = await startFront(config, { embedder: new SyntheticEmbedder(), logger: silentLogger }, f);
    await fronts[f].ready;
  }
});
afterAll(async () => {
  await fronts.node?.close();
  await fronts.web?.close();
  await up?.close();
});

const JSON_AUTH: Array<[string, string]> = [['authorization', 'Bearer sk-parity'], ['content-type', 'application/json']];
const CHAT = (q: string) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: q }] });

/** What the client learns: status, cache status and reason, and where upstream was asked. */
async function seen(front: 'node' | 'web', method: string, target: string, headers: Array<[string, string]>, body: string) {
  const before = up.calls.length;
  const r = await rawRequest(fronts[front].url, method, target, headers, body);
  return {
    status: r.status,
    cache: `${r.header('x-cache-status')} ${r.header('x-cache-reason') ?? ''}`.trim(),
    upstreamPath: up.calls.slice(before).map((c) => c.path).join(','),
  };
}

describe('the two fronts on odd request targets', () => {
  it.each([
    ['a dot segment', '/v1/./chat/completions'],
    ['a dot-dot segment', '/v1/x/../chat/completions'],
    ['an encoded dot-dot segment', '/v1/x/%2e%2e/chat/completions'],
    ['an absolute-form target', 'http://127.0.0.1/v1/chat/completions'],
  ])('POST with %s (%s) is treated alike', async (_name, target) => {
    const q = `parity ${target}`;
    const node = await seen('node', 'POST', target, JSON_AUTH, CHAT(q));
    const web = await seen('web', 'POST', target, JSON_AUTH, CHAT(q));
    expect(node, `node ${JSON.stringify(node)} / web ${JSON.stringify(web)}`).toEqual(web);
  });
});
