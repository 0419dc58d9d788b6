/**
 * `wrangler dev --env offline`, the way README "Deploy to Cloudflare" runs the Worker locally: wrangler bundles
 * wrangler.toml's Worker (its Text rule included) and serves it in workerd, with KV and the stats object simulated.
 * The smoke test: it starts, /healthz says what it can do, and a repeat is a hit with the upstream called once.
 *
 * wrangler is started as test/helpers/wrangler-dev.ts starts it (bench/worker too): a temporary HOME and
 * --persist-to, its own process group, stopped after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { startWranglerDev, type WranglerDev } from '../helpers/wrangler-dev.js';

const START_TIMEOUT_MS = 60_000;

let up: FakeUpstream;
let dev: WranglerDev | undefined;
let base: string;

beforeAll(async () => {
  up = await startFakeUpstream();
  dev = await startWranglerDev({
    env: 'offline',
    vars: { TENANT_SECRET: 'wrangler-dev-secret-0123456789', UPSTREAM_URL: up.url, ANTHROPIC_UPSTREAM_URL: up.url },
    startTimeoutMs: START_TIMEOUT_MS,
  });
  base = dev.url;
}, START_TIMEOUT_MS + 10_000);

afterAll(async () => {
  await dev?.stop();
  await up?.close();
}, 30_000);

const ask = (text: string) =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-wrangler-dev' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }),
  });

describe('wrangler dev --env offline', () => {
  it('serves /healthz: KV entries, exact-only (no Workers AI offline)', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', store: 'ready', entries: 'kv', search: 'none', embedder: 'exact-only', cache: 'exact-only' });
  });

  it('a miss, then a hit, with the upstream called once', async () => {
    up.reset();
    const first = await ask('What is the capital of Portugal?');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const answer = ((await first.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
    expect(answer).toBe('Answer #1 to: What is the capital of Portugal?');

    const second = await ask('What is the capital of Portugal?');
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache-status')).toBe('HIT');
    expect(second.headers.get('x-cache-match')).toBe('exact');
    expect(((await second.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe(answer);
    expect(up.count('/chat/completions')).toBe(1);
  });

  it('serves the dashboard\'s uPlot files, bundled by the Text rule', async () => {
    const js = await fetch(`${base}/dashboard/assets/uplot.js`);
    expect(js.status).toBe(200);
    expect(await js.text()).toContain('var uPlot=function');
    const css = await fetch(`${base}/dashboard/assets/uplot.css`);
    expect(css.status).toBe(200);
    expect(await css.text()).toMatch(/^\.uplot/);
  });
});
