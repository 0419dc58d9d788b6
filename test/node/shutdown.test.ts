/**
 * Graceful shutdown of the `reprise` process: on SIGTERM it stops accepting connections, lets the requests under way
 * finish and store their answers (up to --drain-timeout), then closes Redis and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import OpenAI from 'openai';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { refused, startRedis, type RedisServer } from '../helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let up: FakeUpstream;
let redis: RedisServer;
beforeAll(async () => {
  [up, redis] = await Promise.all([startFakeUpstream(), startRedis()]);
});
afterAll(async () => {
  await up?.close();
  await redis?.stop();
});

/** The real CLI, on a free port, with its JSON log lines collected. */
async function startCli(args: string[]): Promise<{ proc: ChildProcess; url: string; lines: () => Array<Record<string, unknown>>; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env: { ...process.env, LOG_FORMAT: 'json' } });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  let url: string | undefined;
  await vi.waitFor(
    () => {
      url = lines().find((l) => l.msg === 'reprise listening')?.url as string | undefined;
      expect(url, out).toBeDefined();
    },
    { timeout: 60_000, interval: 50 },
  );
  // Ready to cache: the model has loaded and the store (and the tenant secret in it) is ready.
  await vi.waitFor(
    async () => {
      const h = (await (await fetch(`${url}/healthz`)).json()) as { status: string; store: string };
      expect(h).toMatchObject({ status: 'ok', store: 'ready' });
    },
    { timeout: 60_000, interval: 50 },
  );
  return { proc, url: url!, lines, exited };
}

describe('SIGTERM', () => {
  it('finishes a JSON miss, a streaming miss and a pass-through under way, stores both answers, refuses new connections, exits 0', async () => {
    const prefix = `shutdown${process.pid}`;
    const cli = await startCli([
      '--port', '0', '--host', '127.0.0.1', '--upstream', up.url, '--embed-model', 'bundled', '--store', 'redis',
      '--redis-url', redis.url, '--redis-prefix', prefix, '--drain-timeout', '30', '--log-level', 'info',
    ]);
    // Each answer takes a while upstream, so all three are under way when the signal comes.
    up.defaults = { delayMs: 600, chunkDelayMs: 40 };
    const client = new OpenAI({ apiKey: 'sk-shutdown', baseURL: `${cli.url}/v1`, maxRetries: 0 });
    const json = client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is a lighthouse for?' }] });
    const streamed = (async () => {
      const s = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Describe the tides.' }], stream: true });
      let text = '';
      for await (const c of s) text += c.choices[0]?.delta.content ?? '';
      return text;
    })();
    const passthrough = fetch(`${cli.url}/v1/models`, { headers: { authorization: 'Bearer sk-shutdown' } });
    await vi.waitFor(() => expect(up.calls.length).toBe(3), { timeout: 10_000 });

    cli.proc.kill('SIGTERM');
    await vi.waitFor(() => expect(cli.lines().some((l) => String(l.msg).startsWith('shutting down'))).toBe(true));
    expect(await refused(Number(new URL(cli.url).port))).toBe(true);

    const [j, text, p] = await Promise.all([json, streamed, passthrough]);
    expect(j.choices[0]!.message.content).toMatch(/^Answer #\d+ to: What is a lighthouse for\?$/);
    expect(text).toMatch(/^Answer #\d+ to: Describe the tides\.$/);
    expect(p.status).toBe(200);
    expect(await cli.exited).toBe(0);

    // Both answers were stored in Redis before Reprise let it go.
    const check = redis.client();
    try {
      const keys = await check.keys(`${prefix}:{*}:*`);
      expect(keys).toHaveLength(2);
    } finally {
      check.disconnect();
    }
  }, 120_000);
});

describe('close() of Reprise run as a library', () => {
  it('releases everything it started (worker threads, Redis, upstream pool): its threads end, and the process ends by itself', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/library-close.ts'], {
      cwd: ROOT,
      env: { ...process.env, UPSTREAM_URL: up.url, REDIS_URL: redis.url, LOG_FORMAT: 'json' },
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    await vi.waitFor(() => expect(out).toContain('closed 200 MISS'), { timeout: 90_000, interval: 100 });
    // Once closed, a few seconds is plenty for a process with nothing left to end; a worker thread keeps it alive.
    const ended = await Promise.race([exited, new Promise<'alive'>((r) => setTimeout(() => r('alive'), 10_000))]);
    if (ended === 'alive') proc.kill('SIGKILL');
    expect(ended, `still running after close(): ${out.slice(-500)}`).toBe(0);
    // The embedder's worker thread (with its own V8 isolate and threads) is gone, not merely unref'd.
    const [, ready, closed] = /threads (\d+) (\d+)/.exec(out)!.map(Number);
    expect(closed, `OS threads once ready ${ready}, once closed ${closed}`).toBeLessThan(ready!);
  }, 120_000);
});
