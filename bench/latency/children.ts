/**
 * @module bench/latency/children: start the processes a latency run needs (fake upstream, Reprise, Portkey, the
 * load generator), each in its own process so none shares an event loop with another, and stop them again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { createInterface } from 'node:readline';

const live = new Set<ChildProcess>();

/** Children are stopped by their own pid when this process ends, however it ends. */
function stopAll(): void {
  for (const p of live) if (p.exitCode === null && p.pid) p.kill('SIGTERM');
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    stopAll();
    process.exit(130);
  });
}

export interface Child<T> {
  proc: ChildProcess;
  /** the first JSON line the child printed on stdout */
  info: T;
  stderr(): string;
  stop(): Promise<void>;
}

function track(proc: ChildProcess): { stderr: () => string; exited: Promise<number | null> } {
  live.add(proc);
  let err = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    err = (err + d).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      live.delete(proc);
      resolve(code);
    }),
  );
  return { stderr: () => err, exited };
}

function stopper(proc: ChildProcess, exited: Promise<number | null>): () => Promise<void> {
  return async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
}

/**
 * Run `node --import tsx <script> ...args` and wait for the first JSON line on its stdout.
 * @param nodeFlags extra node flags, e.g. `--cpu-prof`
 */
export async function startScript<T>(script: string, args: string[] = [], opts: { nodeFlags?: string[]; timeoutMs?: number } = {}): Promise<Child<T>> {
  const proc = spawn(process.execPath, [...(opts.nodeFlags ?? []), '--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { stderr, exited } = track(proc);
  const lines = createInterface({ input: proc.stdout! });
  const info = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} printed nothing within ${opts.timeoutMs ?? 60_000} ms\n${stderr()}`)), opts.timeoutMs ?? 60_000);
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line) as T);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before it was ready\n${stderr()}`));
    });
  });
  return { proc, info, stderr, stop: stopper(proc, exited) };
}

/**
 * Run a script to completion and return the last JSON line it printed (the load generator and the sequential
 * client report that way).
 */
export async function runScript<T>(script: string, args: string[], timeoutMs: number): Promise<T> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const { stderr, exited } = track(proc);
  let out = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => (out += d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  const last = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (code !== 0 || !last) throw new Error(`${script} failed (exit ${code})\n${stderr()}`);
  return JSON.parse(last) as T;
}

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * Portkey's Node build (`build/start-server.js`, the package's bin) takes `--port=N` and `--headless` (no UI), and
 * listens on all interfaces. It allows 127.0.0.1 as a custom host by default (TRUSTED_CUSTOM_HOSTS).
 */
export async function startPortkey(): Promise<Child<{ url: string; port: number }>> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['node_modules/@portkey-ai/gateway/build/start-server.js', `--port=${port}`, '--headless'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const { stderr, exited } = track(proc);
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null) throw new Error(`Portkey gateway exited (${proc.exitCode})\n${stderr()}`);
    if (Date.now() > deadline) throw new Error(`Portkey gateway did not listen on ${port} within 30 s\n${stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, info: { url: `http://127.0.0.1:${port}/v1`, port }, stderr, stop: stopper(proc, exited) };
}
