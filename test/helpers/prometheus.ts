/**
 * @module test/helpers/prometheus: a throwaway Prometheus per test file (Debian's /usr/bin/prometheus, installed by
 * test/setup/prepare.mjs), on a free loopback port, with its own config and a temporary TSDB, scraping the targets it
 * is given every second; and promtool. The system Prometheus, if the package started one on :9090, is never touched.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';
import { spawnTied } from './children.js';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';
/** The Debian package's own server listens here; tests never use it. */
const SYSTEM_PORT = 9090;
/** How long a busy two-core machine may take to start Prometheus. */
const READY_TIMEOUT_MS = 60_000;

export interface ToolRun {
  /** the exit code, or null when killed by a signal */
  code: number | null;
  stdout: string;
  stderr: string;
  /** the command line and everything it printed, for failure messages */
  report: string;
}

/** Run promtool with `args`, writing `input` to its stdin (e.g. `check metrics` reads the exposition there). */
export function promtool(args: string[], input?: string, opts: { cwd?: string } = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const report = [`$ promtool ${args.join(' ')}${input === undefined ? '' : ' < input'}  (exit ${code})`, stdout.trimEnd(), stderr.trimEnd()]
        .filter(Boolean)
        .join('\n');
      resolve({ code, stdout, stderr, report });
    });
    child.stdin.on('error', () => {}); // promtool may exit before reading all of it; its exit code says why
    child.stdin.end(input ?? '');
  });
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface ScrapeTarget {
  health: string;
  lastError: string;
  scrapeUrl: string;
}

export interface RuleState {
  name: string;
  type: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** an instant query through the HTTP API; rejects on an API error */
  query(promql: string): Promise<Sample[]>;
  /** the scrape targets and how their last scrape went (GET /api/v1/targets) */
  targets(): Promise<ScrapeTarget[]>;
  /** the loaded rules and how their last evaluation went (GET /api/v1/rules) */
  rules(): Promise<RuleState[]>;
  /** what Prometheus logged (the last 32 kB), for failure messages */
  log(): string;
  /** stop it and delete its config and TSDB; idempotent */
  close(): Promise<void>;
}


class AddressInUse extends Error {}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Start Prometheus scraping `targets` (host:port, path /metrics) every second.
 * @param opts.ruleFiles absolute paths of rule files to load (evaluated every second)
 */
export async function startPrometheus(targets: string[], opts: { ruleFiles?: string[]; jobName?: string } = {}): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'reprise-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  // JSON is YAML: no quoting to get wrong.
  const yaml = JSON.stringify(
    {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: opts.ruleFiles ?? [],
      scrape_configs: [{ job_name: opts.jobName ?? 'reprise', metrics_path: '/metrics', static_configs: [{ targets }] }],
    },
    null,
    2,
  );
  await writeFile(config, yaml);
  try {
    for (let attempt = 0; ; attempt++) {
      let port = await freePort();
      while (port === SYSTEM_PORT) port = await freePort();
      try {
        return await spawnOn(port, dir, config);
      } catch (err) {
        // Someone took the free port between our probe and Prometheus's bind: pick another.
        if (!(err instanceof AddressInUse) || attempt >= 10) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function spawnOn(port: number, dir: string, config: string): Promise<PrometheusServer> {
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=info',
  ];
  const { child, forget } = spawnTied(PROMETHEUS, args, ['ignore', 'pipe', 'pipe']);
  let log = '';
  const collect = (d: Buffer) => {
    log += d.toString();
    if (log.length > 32_000) log = log.slice(-32_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      forget();
      resolve();
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!running()) {
      await exited;
      if (/address already in use/i.test(log)) throw new AddressInUse(`port ${port} is taken`);
      throw new Error(`prometheus on port ${port} exited at start-up (${child.exitCode ?? child.signalCode}):\n${log}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
      throw new Error(`prometheus on port ${port} was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${log}`);
    }
    await pause(100);
  }

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.errorType}: ${body.error}`);
    return body.data;
  };

  return {
    url,
    port,
    async query(promql) {
      const data = await api<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
        `/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      if (data.resultType !== 'vector') throw new Error(`Prometheus: ${promql} is a ${data.resultType}, not an instant vector`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async targets() {
      const data = await api<{ activeTargets: ScrapeTarget[] }>('/api/v1/targets?state=active');
      return data.activeTargets.map(({ health, lastError, scrapeUrl }) => ({ health, lastError, scrapeUrl }));
    },
    async rules() {
      const data = await api<{ groups: Array<{ rules: RuleState[] }> }>('/api/v1/rules');
      return data.groups.flatMap((g) => g.rules.map(({ name, type, health, lastError, lastEvaluation }) => ({ name, type, health, lastError, lastEvaluation })));
    },
    log: () => log,
    close,
  };
}

/**
 * Poll `probe` until `done` accepts what it returns, for at most `timeoutMs`; returns the accepted value. On time-out
 * the error carries the last value seen (and the last probe error), and whatever `explain` adds.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  opts: { timeoutMs?: number; everyMs?: number; explain?: () => Promise<string> } = {},
): Promise<T> {
  const { timeoutMs = 60_000, everyMs = 250 } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: { value: T } | { error: unknown };
    try {
      const value = await probe();
      last = { value };
      if (done(value)) return value;
    } catch (error) {
      last = { error };
    }
    if (Date.now() > deadline) {
      const seen = 'error' in last ? `error: ${String(last.error)}` : `last value: ${JSON.stringify(last.value)}`;
      const more = opts.explain ? `\n${await opts.explain().catch((e: unknown) => `(explain failed: ${String(e)})`)}` : '';
      throw new Error(`${what}: not within ${timeoutMs / 1000} s; ${seen}${more}`);
    }
    await pause(everyMs);
  }
}
