/** Small statistics and reporting helpers shared by the benchmarks. */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';

/** The p-th percentile (0-100) by nearest rank. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function summarize(values: ArrayLike<number>) {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return { n: values.length, mean: sum / values.length, p50: percentile(values, 50), p99: percentile(values, 99) };
}

/** Wilson score interval for k successes in n trials (95% by default): [low, high]. */
export function wilson(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = p + (z * z) / (2 * n);
  const h = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, (c - h) / d), Math.min(1, (c + h) / d)];
}

/** What machine a result came from: results mean little without it. */
export function machine() {
  let load = '';
  try {
    load = execFileSync('cat', ['/proc/loadavg']).toString().trim();
  } catch {}
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? '',
    memGiB: Math.round(totalmem() / 2 ** 30),
    loadavg: load,
    date: new Date().toISOString(),
  };
}

/** Write bench/results/<name>.json with the machine attached. */
export function writeResult(name: string, data: unknown): string {
  mkdirSync('bench/results', { recursive: true });
  const path = `bench/results/${name}.json`;
  writeFileSync(path, JSON.stringify({ name, machine: machine(), ...(data as object) }, null, 2));
  return path;
}

/** Write bench/results/<name>.md. */
export function writeSummary(name: string, markdown: string): string {
  mkdirSync('bench/results', { recursive: true });
  const path = `bench/results/${name}.md`;
  writeFileSync(path, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return path;
}

/** A markdown table from rows of equal keys. */
export function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]!);
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1)) : v);
  return [`| ${keys.join(' | ')} |`, `|${keys.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${keys.map((k) => fmt(r[k]!)).join(' | ')} |`)].join('\n');
}
