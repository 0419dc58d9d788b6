/**
 * The SSE error event that ends a stream whose upstream went quiet past --upstream-idle-timeout names the idle
 * timeout (504 upstream_idle_timeout) on every front: the undici upstream hands the Web front its own error, not
 * undici's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/node/server.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { startFrontFor } from '../helpers/front.js';
import { bundledEmbedder } from '../helpers/harness.js';
import { exchange } from '../helpers/raw-http.js';

let up: FakeUpstream;
let r: Running;
beforeAll(async () => {
  up = await startFakeUpstream();
  r = await startFrontFor(up.url, { embedder: bundledEmbedder() }, { 'upstream-idle-timeout': '300' });
});
afterAll(async () => {
  await r?.close();
  await up?.close();
});

describe('the event that ends an idle stream', () => {
  it('says the upstream went quiet (upstream_idle_timeout), on every front', async () => {
    let release!: () => void;
    up.next({ holdUntil: new Promise<void>((res) => (release = res)) });
    const res = await exchange(r.url, 'POST', '/v1/chat/completions', [['authorization', 'Bearer sk-idle'], ['content-type', 'application/json']], JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Quiet mid-stream?' }], stream: true }));
    release();
    const ev = /event: error\ndata: (.*)\n\n$/.exec(res.text);
    expect(ev, res.text.slice(-300)).not.toBeNull();
    expect(JSON.parse(ev![1]!).error.code).toBe('upstream_idle_timeout');
  });
});
