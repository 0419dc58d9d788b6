/**
 * @module bench/soak/reprise: Reprise as users run it, from the real CLI entry (`node --import tsx src/main.ts
 * ...flags`), in its own process; what it logs, counted; and its resident memory, read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface RepriseProcess {
  proc: ChildProcess;
  /** http://127.0.0.1:PORT */
  url: string;
  /** the command line, as a user would type it (with `node --import tsx` for the TypeScript entry) */
  command: string;
  /** log lines by level and message (request lines by status and cache status instead) */
  logCounts(): Record<string, number>;
  /** warnings and errors: first and last time seen, and the last line */
  notable(): Record<string, { n: number; first: number; last: number; line: string }>;
  stderr(): string;
  /** VmRSS in bytes, from /proc/<pid>/status; undefined without /proc */
  rss(): number | undefined;
  stop(): Promise<void>;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export function rssOf(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Start Reprise with `flags` on `port`, and wait until /healthz says the embedder is loaded.
 * @param cwd the checkout whose src/main.ts runs (another one, e.g. a commit exported with `git archive`, to compare)
 */
export async function startReprise(port: number, flags: string[], cwd = '.', timeoutMs = 120_000): Promise<RepriseProcess> {
  const args = ['--import', 'tsx', 'src/main.ts', '--port', String(port), '--host', '127.0.0.1', '--log-format', 'json', ...flags];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
  const counts: Record<string, number> = {};
  const notable: Record<string, { n: number; first: number; last: number; line: string }> = {};
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (err = (err + d).slice(-8000)));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line) as Record<string, unknown>;
    } catch {
      counts['(not JSON)'] = (counts['(not JSON)'] ?? 0) + 1;
      return;
    }
    const level = LEVELS[j.level as number] ?? String(j.level);
    const key = j.msg === 'request' ? `request${String(j.path).startsWith('/v1/') ? '' : ` ${String(j.path)}`} ${String(j.status)} ${String(j.cache ?? '')}${j.reason ? ` ${String(j.reason)}` : ''}` : `${level}: ${String(j.msg)}${j.stage ? ` (${String(j.stage)})` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
    if ((j.level as number) >= 40) {
      const t = Number(j.time);
      const n = (notable[key] ??= { n: 0, first: t, last: t, line: '' });
      n.n++;
      n.last = t;
      n.line = line.slice(0, 400);
    }
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`reprise exited (${proc.exitCode}) before it was ready\n${err}`);
    if (Date.now() > deadline) throw new Error(`reprise not ready within ${timeoutMs} ms\n${err}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    proc,
    url,
    command: ['node', ...args].join(' '),
    logCounts: () => ({ ...counts }),
    notable: () => structuredClone(notable),
    stderr: () => err,
    rss: () => rssOf(proc.pid),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
