/**
 * `wrangler dev --env offline`, the way README "Deploy to Cloudflare" runs the Worker locally: wrangler bundles
 * wrangler.toml's Worker (its Text rule included) and serves it in workerd, with KV and the stats object simulated.
 * The smoke test: it starts, /healthz says what it can do, and a repeat is a hit with the upstream called once.
 *
 * wrangler runs with a temporary HOME and XDG_CONFIG_HOME (its config, logs and metrics consent go there), its local
 * state in a temporary --persist-to, no metrics sent and no banner (whose update check would ask the npm registry). Its bundle goes to the repo's .wrangler/tmp (gitignored),
 * which it removes when it is stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { killOnExit } from '../helpers/children.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');
const START_TIMEOUT_MS = 60_000;

let up: FakeUpstream;
let home: string;
let wrangler: ChildProcess | undefined;
let exited: Promise<void> | undefined;
let base: string;
/** wrangler's output, for the failure message when it does not start */
let output = '';

/** A port free right now on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** /healthz answers (any status), or wrangler exits, or the time is up. */
async function started(): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone = false;
  void exited?.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`wrangler dev exited before it served:\n${output}`);
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not serve /healthz within ${START_TIMEOUT_MS / 1000} s:\n${output}`);
}

/** Stop wrangler and everything it started (its process group): SIGTERM, which lets it clean up, then SIGKILL. */
async function stop(): Promise<void> {
  const child = wrangler;
  if (!child?.pid || !exited) return;
  const group = -child.pid;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(group, s);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  // Whatever of the group outlived its leader.
  signal('SIGKILL');
}

beforeAll(async () => {
  up = await startFakeUpstream();
  home = await mkdtemp(join(tmpdir(), 'reprise-wrangler-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const args = [
    'dev',
    '--env', 'offline',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--var', 'TENANT_SECRET:wrangler-dev-secret-0123456789',
    '--var', `UPSTREAM_URL:${up.url}`,
    '--var', `ANTHROPIC_UPSTREAM_URL:${up.url}`,
    '--persist-to', join(home, 'state'),
    '--show-interactive-dev-session=false',
  ];
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    // Its own process group, so that stop() reaches workerd and esbuild too.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true', NO_COLOR: '1', CI: '1' },
  });
  wrangler = child;
  const forget = killOnExit(child);
  exited = new Promise((done) => child.once('exit', () => (forget(), done())));
  const keep = (b: Buffer) => {
    if (output.length < 64_000) output += b.toString();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  await started();
}, START_TIMEOUT_MS + 10_000);

afterAll(async () => {
  await stop();
  await up?.close();
  if (home) await rm(home, { recursive: true, force: true });
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
