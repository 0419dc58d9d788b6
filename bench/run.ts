/**
 * @module bench/run: run the benchmark set, each bench in its own process, one after another, within a time budget,
 * then write bench/results/summary.md from each bench's markdown.
 *
 *   npm run bench                      every bench (latency, embed, scale, quality), 10 minutes in all
 *   npm run bench -- latency scale     only these
 *   npm run bench -- --budget 900      another total budget, in seconds
 *   npm run bench -- --quick           BENCH_QUICK=1 for benches that honour it (shorter runs, for a smoke test)
 *   npm run bench -- --summary-only    rebuild summary.md from the results already there, running nothing
 *
 * A bench whose file does not exist yet is skipped with a note. A bench still running when the budget is spent is
 * stopped (SIGTERM, then SIGKILL) and marked as such. Children get BENCH_DEADLINE (epoch ms) so they can fit in.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { machine, table, writeSummary } from './lib/stats.js';

interface Bench {
  name: string;
  file: string;
  what: string;
}

const BENCHES: Bench[] = [
  { name: 'latency', file: 'bench/latency/run.ts', what: 'req/s and latency under load: direct, pass-through, miss, exact, semantic, Portkey; streaming TTFB' },
  { name: 'embed', file: 'bench/embed.ts', what: 'embedding models: speed and size' },
  { name: 'scale', file: 'bench/scale.ts', what: 'lookups as the cache grows' },
  { name: 'quality', file: 'bench/quality/run.ts', what: 'precision and recall of cache hits' },
];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    budget: { type: 'string', default: '600' },
    quick: { type: 'boolean', default: false },
    'summary-only': { type: 'boolean', default: false },
  },
});
const unknown = positionals.filter((p) => !BENCHES.some((b) => b.name === p));
if (unknown.length) {
  console.error(`unknown bench ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
const selected = positionals.length ? BENCHES.filter((b) => positionals.includes(b.name)) : BENCHES;
const start = Date.now();
const deadline = start + Number(values.budget) * 1000;

interface Outcome {
  bench: Bench;
  status: 'ok' | 'failed' | 'timed out' | 'skipped' | 'not selected' | 'not run';
  seconds: number;
  note: string;
  started: number;
}

function runOne(bench: Bench): Promise<Outcome> {
  const started = Date.now();
  if (!existsSync(bench.file)) return Promise.resolve({ bench, status: 'skipped', seconds: 0, note: `${bench.file} does not exist yet`, started });
  const left = deadline - started;
  if (left <= 0) return Promise.resolve({ bench, status: 'skipped', seconds: 0, note: 'no time left in the budget', started });
  console.error(`\n=== bench ${bench.name} (${bench.file}); ${Math.round(left / 1000)} s of the budget left ===`);
  const child = spawn(process.execPath, ['--import', 'tsx', bench.file], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_DEADLINE: String(deadline), ...(values.quick && { BENCH_QUICK: '1' }) },
  });
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 10_000).unref();
    }, left);
    const stopChild = () => child.kill('SIGTERM');
    process.once('SIGINT', stopChild);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', stopChild);
      const seconds = (Date.now() - started) / 1000;
      if (timedOut) resolve({ bench, status: 'timed out', seconds, note: `stopped when the ${values.budget} s budget ran out`, started });
      else if (code === 0) resolve({ bench, status: 'ok', seconds, note: '', started });
      else resolve({ bench, status: 'failed', seconds, note: `exit ${code ?? signal}`, started });
    });
  });
}

/** The bench's own <name>.md, plus any other markdown it wrote while it ran. */
function markdownOf(o: Outcome): string[] {
  const dir = 'bench/results';
  if (!existsSync(dir)) return [];
  const own = `${o.bench.name}.md`;
  const fresh = o.status === 'not selected' || o.status === 'skipped' || o.status === 'not run' ? [] : readdirSync(dir)
    .filter((f) => f.endsWith('.md') && f !== 'summary.md' && f !== own && statSync(`${dir}/${f}`).mtimeMs >= o.started)
    .sort();
  return [...(existsSync(`${dir}/${own}`) ? [own] : []), ...fresh].map((f) => `${dir}/${f}`);
}

const outcomes: Outcome[] = [];
for (const bench of BENCHES) {
  if (values['summary-only']) outcomes.push({ bench, status: 'not run', seconds: 0, note: 'summary only', started: start });
  else if (!selected.includes(bench)) outcomes.push({ bench, status: 'not selected', seconds: 0, note: '', started: start });
  else outcomes.push(await runOne(bench));
}

const m = machine();
const total = (Date.now() - start) / 1000;
const parts = [
  '# Reprise benchmarks',
  '',
  `${m.cpus} × ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}, ${m.date}; load average at the end: ${m.loadavg}. ` +
    (values['summary-only'] ? 'Summary rebuilt from earlier results.' : `This run: ${selected.map((b) => b.name).join(', ')} in ${total.toFixed(0)} s (budget ${values.budget} s).`),
  '',
  table(outcomes.map((o) => ({ bench: o.bench.name, measures: o.bench.what, status: o.status, seconds: o.seconds ? o.seconds.toFixed(0) : '', note: o.note }))),
  '',
];
for (const o of outcomes) {
  for (const file of markdownOf(o)) {
    const stale = o.status !== 'ok' || statSync(file).mtimeMs < o.started;
    // Headings one level down, so each bench's title sits under this summary's. Images are written beside the
    // markdown, and the summary lives in the same folder, so their relative links stay valid.
    const body = readFileSync(file, 'utf8').trim().replace(/^(#+) /gm, '#$1 ');
    parts.push(stale ? `> ${file}: from an earlier run (${new Date(statSync(file).mtimeMs).toISOString()}).\n` : '', body, '');
  }
}
console.error(`\nwrote ${writeSummary('summary', parts.join('\n'))} (${total.toFixed(0)} s)`);
process.exit(outcomes.some((o) => o.status === 'failed' || o.status === 'timed out') ? 1 : 0);
