/**
 * @module bench/soak: minutes of mixed traffic from several tenants against a fake upstream that injects faults,
 * while Redis is killed and restarted twice and one client in ten hangs up early. It counts requests by outcome,
 * lists every wrong response and every failure Reprise caused, and follows Reprise's memory.
 *
 *   npx tsx bench/soak.ts [--seconds 180] [--clients 16] [--seed 1] [--styles bearer,api-key,x-api-key]
 *                         [--redis-down 5] [--timeout 20] [--strict] [--reprise-args=--shared-cache] [--reprise-dir DIR]
 *
 * Every party runs in its own process: redis-server (a throwaway one on a free port, no persistence), the fake
 * upstream (bench/soak/upstream.ts), Reprise from its CLI entry (`src/main.ts --store redis --embed-model bundled`),
 * and the clients (bench/soak/traffic.ts). How a response is judged right or wrong: bench/soak/verdict.ts.
 * Under bench/run.ts it fits in BENCH_DEADLINE (shorter traffic, noted in the result's `coverage`); BENCH_QUICK=1
 * runs 30 s of traffic. Writes bench/results/soak.{json,md}. It exits 1 when the run could not complete; with
 * `--strict`, also (with 3) when it found a wrong response or a Reprise-caused failure, for use as a gate.
 * `--reprise-args` adds flags to Reprise's command line: `--shared-cache` (one cache for all credentials) shows the
 * checks catching answers served across tenants. `--reprise-dir` runs another checkout's src/main.ts (say a commit
 * exported with `git archive HEAD src package.json tsconfig.json`, beside a link to node_modules), to compare.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedis } from '../test/helpers/redis-server.js';
import { freePort, runScript, startScript, type Child } from './latency/children.js';
import type { CredentialStyle } from './soak/pool.js';
import { startReprise, type RepriseProcess } from './soak/reprise.js';
import { report, type Restart, type Sample, type SoakData } from './soak/report.js';
import type { TrafficResult, TrafficSpec } from './soak/traffic.js';

const { values: o } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    clients: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' },
    styles: { type: 'string', default: 'bearer,api-key,x-api-key' },
    'redis-down': { type: 'string', default: '5' },
    timeout: { type: 'string', default: '20' },
    strict: { type: 'boolean', default: false },
    'reprise-args': { type: 'string', default: '' },
    'reprise-dir': { type: 'string', default: '.' },
  },
});
const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[soak +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Start-up (model load, four processes) and the checks after the run: about 12 s here; this leaves a margin.
const OVERHEAD_SECONDS = 30;
const MIN_SECONDS = 20;
const coverage: string[] = [];
let seconds = Number(o.seconds);
const secondsLeft = process.env.BENCH_DEADLINE ? (Number(process.env.BENCH_DEADLINE) - Date.now()) / 1000 : Infinity;
if (process.env.BENCH_QUICK === '1' && seconds > 30) {
  seconds = 30;
  coverage.push('soak: quick mode, 30 s of traffic instead of the default 180 s.');
} else if (secondsLeft - OVERHEAD_SECONDS < seconds) {
  const fit = Math.max(MIN_SECONDS, Math.floor(secondsLeft - OVERHEAD_SECONDS));
  coverage.push(`soak: ${fit} s of traffic instead of ${seconds} s, to fit the bench budget.`);
  seconds = fit;
}
const warmup = Math.min(15, Math.round(seconds * 0.15));
const downMs = Math.max(1000, Math.min(Number(o['redis-down']) * 1000, seconds * 40));
const styles = o.styles!.split(',').map((s) => s.trim()) as CredentialStyle[];

const children: Array<Child<unknown>> = [];
let reprise: RepriseProcess | undefined;
process.on('exit', () => reprise?.proc.exitCode === null && reprise.proc.kill('SIGKILL'));
const redis = await startRedis();
const data: Partial<SoakData> & { notes: string[] } = { notes: [], coverage };
const specPath = join(tmpdir(), `reprise-soak-${process.pid}.json`);

try {
  const upstream = await startScript<{ url: string; control: string }>('bench/soak/upstream.ts', ['--seed', o.seed!]);
  children.push(upstream);
  const flags = ['--upstream', upstream.info.url, '--store', 'redis', '--redis-url', redis.url, '--redis-prefix', 'soak', '--embed-model', 'bundled', ...o['reprise-args']!.split(' ').filter(Boolean)];
  reprise = await startReprise(await freePort(), flags, o['reprise-dir']);
  const R = reprise;
  log(`reprise ready at ${R.url} (pid ${R.proc.pid}); redis ${redis.url}; upstream ${upstream.info.url}; ${seconds} s of traffic, ${o.clients} clients`);

  const startAt = Date.now() + 3000;
  const spec: TrafficSpec = { url: R.url, control: upstream.info.control, startAt, seconds, clients: Number(o.clients), seed: Number(o.seed), styles, abortRate: 0.1, timeoutMs: Number(o.timeout) * 1000 };
  writeFileSync(specPath, JSON.stringify(spec));
  const traffic = runScript<TrafficResult>('bench/soak/traffic.ts', [specPath], (seconds + 180) * 1000);
  let running = true;
  void traffic.finally(() => (running = false)).catch(() => {});
  const rel = (t: number) => Math.round((t - startAt) / 100) / 10;

  const stats = async () => (await fetch(`${R.url}/stats`).then((r) => r.json(), () => undefined)) as Record<string, any> | undefined;
  // Memory and the cache's counters every 5 s.
  const samples: Sample[] = [];
  const sample = async () => {
    const s = await stats();
    samples.push({ t: rel(Date.now()), rssMiB: (R.rss() ?? NaN) / 2 ** 20, entries: s?.entries, stored: s?.stored, coalesced: s?.coalesced, faults: s?.faults, requests: s?.requests });
  };
  const sampler = (async () => {
    for (let k = 0; ; k++) {
      await sleep(Math.max(0, startAt + k * 5000 - Date.now()));
      if (!running) return;
      await sample();
    }
  })();
  // What /healthz says of the store, every 500 ms: its changes only.
  const health: Array<{ t: number; store: string }> = [];
  const poller = (async () => {
    while (running) {
      const h = await fetch(`${R.url}/healthz`).then(async (r) => `${r.status} ${String(((await r.json()) as { store?: string }).store)}`, (e: unknown) => `unreachable (${String(e)})`);
      if (health.at(-1)?.store !== h) health.push({ t: rel(Date.now()), store: h });
      await sleep(500);
    }
  })();
  // Redis killed (SIGKILL) and restarted empty on the same port, twice.
  const restarts: Restart[] = [];
  const restarter = (async () => {
    for (const at of [0.35, 0.7]) {
      await sleep(Math.max(0, startAt + at * seconds * 1000 - Date.now()));
      if (!running) return;
      const before = await stats();
      const killedAt = Date.now();
      await redis.kill();
      log(`redis killed at +${rel(killedAt)} s`);
      await sleep(downMs);
      await redis.restart();
      const restartedAt = Date.now();
      log(`redis restarted at +${rel(restartedAt)} s`);
      const just = await stats();
      await sleep(Math.min(10_000, Math.max(0, startAt + seconds * 1000 - Date.now())));
      restarts.push({ killedAt: rel(killedAt), restartedAt: rel(restartedAt), statsBefore: before, statsAtRestart: just, statsLater: { t: rel(Date.now()), stats: await stats() } });
    }
  })();

  const result = await traffic;
  await sample();
  running = false;
  await Promise.all([sampler, poller, restarter]);
  Object.assign(data, {
    startAt, seconds, warmup, clients: Number(o.clients), seed: Number(o.seed), styles, downMs, traffic: result, samples, health, restarts,
    finalStats: await stats(),
    upstream: await fetch(`${upstream.info.control}/stats`).then((r) => r.json()),
    logs: R.logCounts(), notable: R.notable(),
    command: `npx tsx bench/soak.ts ${process.argv.slice(2).join(' ')}`.trim(),
    repriseCommand: (o['reprise-dir'] === '.' ? '' : `(in ${o['reprise-dir']}) `) + R.command.replace(redis.url, 'redis://127.0.0.1:<port>').replace(upstream.info.url, 'http://127.0.0.1:<port>/v1'),
  });
  log(`traffic done: ${result.requests} requests, ${result.wrong.total} wrong, ${result.failures.total} Reprise-caused failures`);
} catch (err) {
  const cause = err instanceof Error && err.cause ? ` (cause: ${String(err.cause)})` : '';
  data.notes.push(`run aborted: ${String(err).slice(0, 2000)}${cause}`);
  log(`${String(err)}${cause}`);
  if (reprise) log(`reprise stderr: ${reprise.stderr().slice(-2000)}`);
} finally {
  rmSync(specPath, { force: true });
  if (reprise) {
    data.repriseStderr = reprise.stderr().slice(-2000);
    await reprise.stop();
  }
  for (const c of children.reverse()) await c.stop();
  await redis.stop();
}
data.wallSeconds = (Date.now() - t0) / 1000;
try {
  // --no-optional-locks: read the working tree's state without refreshing the index.
  const git = (...args: string[]) => execFileSync('git', ['--no-optional-locks', ...args], { encoding: 'utf8', cwd: o['reprise-dir'], stdio: ['ignore', 'pipe', 'ignore'] });
  data.code = { head: git('rev-parse', '--short', 'HEAD').trim(), modified: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).map((l) => l.slice(3)) };
} catch {}
log(`wrote ${report(data).join(', ')}`);
const found = data.traffic ? data.traffic.wrong.total + (data.traffic.outcomes['Reprise failure'] ?? 0) : 0;
process.exit(!data.traffic ? 1 : o.strict && found > 0 ? 3 : 0);
