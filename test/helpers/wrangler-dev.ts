/**
 * @module test/helpers/wrangler-dev: `wrangler dev`, started as README "Deploy to Cloudflare" runs the Worker locally,
 * for the smoke test (test/worker-dev) and bench/worker: the repo's wrangler.toml and an environment, on a free port of
 * 127.0.0.1, with a temporary HOME and XDG_CONFIG_HOME (its config, logs and metrics consent go there), its local
 * state (KV, the Durable Objects) in a temporary --persist-to, no metrics sent and no banner (whose update check
 * would ask the npm registry). Its bundle goes to the repo's .wrangler/tmp (gitignored), which it removes on stop.
 *
 * It runs in its own process group, so that stop() reaches the two workerd processes and esbuild it starts too, and
 * that group is SIGKILLed if this process exits first, however it exits.
 *
 * wrangler dev runs two Miniflare instances, each its own workerd: the one on --port holds wrangler's proxy worker
 * (it holds requests during a reload and rewrites their URL), which passes every request on to the other, which runs
 * the Worker. `innerUrl()` finds the second one's own socket, so a bench can tell the proxy's hop from the Worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';

const ROOT = resolve(import.meta.dirname, '../..');
const WRANGLER = join(ROOT, 'node_modules/.bin/wrangler');

export interface WranglerDevOptions {
  /** wrangler.toml's environment, e.g. "offline" */
  env: string;
  /** `--var NAME:VALUE` each */
  vars: Record<string, string>;
  /** wrangler's own --log-level @default wrangler's (info: a line per request) */
  logLevel?: 'debug' | 'info' | 'log' | 'warn' | 'error' | 'none';
  /** @default 60 s */
  startTimeoutMs?: number;
}

export interface WranglerDev {
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** ms from spawn to the first answer of /healthz */
  startMs: number;
  /** the /healthz body it first answered */
  health: unknown;
  /** wrangler's and workerd's output so far (the first 64 KB), for failure messages */
  output(): string;
  /**
   * The Worker's own workerd socket, past wrangler's proxy worker: among the TCP sockets the workerd processes of
   * this wrangler's process group (and only those) listen on, the one whose /healthz answers as `health` did.
   * Linux only (/proc); undefined when none is found. It leans on how wrangler 4 runs workerd, not on anything it
   * documents.
   */
  innerUrl(): Promise<string | undefined>;
  /** SIGTERM to the group (wrangler cleans up), SIGKILL after 10 s; then the temporary HOME is removed */
  stop(): Promise<void>;
}

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

/** The group leaders started here, killed with their groups if this process exits before stop(). */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) signalGroup(child, 'SIGKILL');
});

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** The versions a result should name: wrangler's and the workerd it runs. */
export function wranglerVersions(): { wrangler: string; workerd: string } {
  const version = (pkg: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  return { wrangler: version('wrangler'), workerd: version('workerd') };
}

export async function startWranglerDev(opts: WranglerDevOptions): Promise<WranglerDev> {
  const home = await mkdtemp(join(tmpdir(), 'reprise-wrangler-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    'dev',
    '--env', opts.env,
    '--ip', '127.0.0.1',
    '--port', String(port),
    ...Object.entries(opts.vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
    '--persist-to', join(home, 'state'),
    '--show-interactive-dev-session=false',
    ...(opts.logLevel ? ['--log-level', opts.logLevel] : []),
  ];
  const spawned = performance.now();
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true', NO_COLOR: '1', CI: '1' },
  });
  live.add(child);
  let out = '';
  const keep = (b: Buffer) => {
    if (out.length < 64_000) out += b.toString();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let gone = false;
  const exited = new Promise<void>((done) =>
    child.once('exit', () => {
      gone = true;
      live.delete(child);
      done();
    }),
  );

  const stop = async () => {
    if (!gone) {
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    // Whatever of the group outlived its leader.
    signalGroup(child, 'SIGKILL');
    await rm(home, { recursive: true, force: true });
  };

  // Started once /healthz answers; wrangler's "Ready on" line comes before the Worker is loaded.
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (gone) throw new Error(`wrangler dev exited before it served:\n${out}`);
      if (Date.now() > deadline) throw new Error(`wrangler dev did not serve /healthz within ${timeoutMs / 1000} s:\n${out}`);
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
        const health = (await res.json()) as unknown;
        const innerUrl = () => findInner(child.pid!, port, health);
        return { url, startMs: performance.now() - spawned, health, output: () => out, innerUrl, stop };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The ports the workerd processes of process group `group` listen on (IPv4, from /proc). */
function workerdPorts(group: number): number[] {
  const inodes = new Set<string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      // /proc/PID/stat: "pid (comm) state ppid pgrp ...", comm in parentheses and possibly with spaces
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) !== group || !stat.includes('(workerd)')) continue;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      }
    } catch {
      // gone, or not ours to read
    }
  }
  const ports: number[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; the inode is the tenth field
    if (f.length > 9 && f[3] === '0A' && inodes.has(f[9]!)) ports.push(Number.parseInt(f[1]!.split(':')[1]!, 16));
  }
  return ports;
}

async function findInner(group: number, outerPort: number, health: unknown): Promise<string | undefined> {
  let ports: number[];
  try {
    ports = workerdPorts(group).filter((p) => p !== outerPort);
  } catch {
    return undefined;
  }
  for (const port of ports) {
    const url = `http://127.0.0.1:${port}`;
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      const text = await res.text();
      if (res.ok && JSON.stringify(JSON.parse(text)) === JSON.stringify(health)) return url;
    } catch {
      // another of workerd's sockets (its inspector, its loopback), not HTTP or not the Worker
    }
  }
  return undefined;
}
