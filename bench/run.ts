/**
 * @module bench/run: run the benchmark set, each bench in its own process, one after another, within a time budget,
 * then write bench/results/summary.md from each bench's markdown.
 *
 *   npm run bench                      every bench (latency, embed, scale, quality, soak, worker), 10 minutes in all
 *   npm run bench -- latency scale     only these
 *   npm run bench -- --budget 900      another total budget, in seconds
 *   npm run bench -- --quick           BENCH_QUICK=1 for benches that honour it (shorter runs, for a smoke test)
 *   npm run bench -- --summary-only    rebuild summary.md from the results already there, running nothing
 *
 * A bench whose file does not exist yet is skipped with a note. A bench still running when the budget is spent is
 * stopped (SIGTERM, then SIGKILL) and marked as such. Children get BENCH_DEADLINE (epoch ms) so they can fit in: the
 * end of the budget minus what the benches after them need at least (`reserve`), so an early bench cannot starve the
 * later ones. On a fresh checkout (no bench/.cache) the reserves are larger: scale builds its 100k graph and quality
 * embeds a sample of its sentences. Whatever a bench skipped or sampled is listed at the top of summary.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { machine, table, writeSummary } from './lib/stats.js';
import { scaleCacheState } from './lib/scale-cache.js';
import { isCached } from './quality/embed-cache.js';
import { fullSentences } from './quality/split.js';

interface Bench {
  name: string;
  file: string;
  what: string;
  /** seconds to hold back for this bench from the benches before it (its short mode, or on a cold cache what it has
   *  to build or embed) */
  reserve: () => number;
  /** seconds it gets even when the benches after it hold back more than is left @default reserve() */
  minimum?: number;
  /** what the bench's result JSON says it skipped or shortened (besides its own `coverage` list) */
  notes?: (result: any) => string[];
}

const BENCHES: Bench[] = [
  {
    name: 'latency', file: 'bench/latency/run.ts', what: 'req/s and latency under load: direct, pass-through, miss, exact, semantic, Portkey; streaming TTFB',
    reserve: () => 100,
    notes: (r) => (r?.config?.duration < 10 ? [`latency: short mode (${r.config.duration} s per scenario instead of 10, ${r.config.rounds} rounds) to fit the bench budget.`] : []),
  },
  {
    name: 'embed', file: 'bench/embed.ts', what: 'embedding models: speed and size',
    reserve: () => 55,
    notes: (r) => (r?.limits?.other?.seconds < 6 ? [`embed: short mode (${r.limits.other.seconds} s per measurement instead of 6) to fit the bench budget.`] : []),
  },
  // cold: 10k, and the 100k graph built (bench/lib/scale-cache.ts estimates it); warm: loads and lookups only
  // (its minimum: 10k and the exact scans; a 100k build cut short is saved and resumed by the next run)
  { name: 'scale', file: 'bench/scale.ts', what: 'lookups as the cache grows', reserve: () => scaleCacheState().reserveSeconds, minimum: 60 },
  // cold: a sample of ~1,250 pairs embedded at ~25 sentences/s, plus model load, replays and the HTTP check
  { name: 'quality', file: 'bench/quality/run.ts', what: 'precision and recall of cache hits', reserve: () => (isCached(fullSentences()) ? 90 : 150) },
  // 180 s of traffic when the budget allows; at least 60 s (it allows 30 s for start-up and checks). Shortened runs
  // are listed in its result's `coverage`.
  { name: 'soak', file: 'bench/soak.ts', what: 'wrong responses, Reprise-caused failures and memory under faults, aborts and Redis restarts', reserve: () => 90 },
  // a few seconds to start its three servers, then rounds until its deadline (10 s kept to stop them); a cut-short
  // run is in its result's `coverage`
  { name: 'worker', file: 'bench/worker.ts', what: 'the Worker under wrangler dev (workerd, locally): exact hits and misses against direct and the Node server', reserve: () => 45 },
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

/** What the benches after `bench` (among those selected) need at least. */
function reservedAfter(bench: Bench): number {
  const later = selected.slice(selected.indexOf(bench) + 1).filter((b) => existsSync(b.file));
  return later.reduce((s, b) => s + b.reserve(), 0) * 1000;
}

function runOne(bench: Bench): Promise<Outcome> {
  const started = Date.now();
  if (!existsSync(bench.file)) return Promise.resolve({ bench, status: 'skipped', seconds: 0, note: `${bench.file} does not exist yet`, started });
  const left = deadline - started;
  if (left <= 0) return Promise.resolve({ bench, status: 'skipped', seconds: 0, note: 'no time left in the budget', started });
  // Its own deadline leaves the later benches their reserve, but gives it at least its minimum.
  const own = Math.min(deadline, Math.max(started + (bench.minimum ?? bench.reserve()) * 1000, deadline - reservedAfter(bench)));
  console.error(`\n=== bench ${bench.name} (${bench.file}); ${Math.round((own - started) / 1000)} s for it, ${Math.round(left / 1000)} s of the budget left ===`);
  const child = spawn(process.execPath, ['--import', 'tsx', bench.file], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_DEADLINE: String(own), ...(values.quick && { BENCH_QUICK: '1' }) },
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
  // Written while it ran (not by a bench after it), and not another bench's own markdown.
  const ended = o.started + o.seconds * 1000 + 1000;
  const others = new Set(BENCHES.map((b) => `${b.name}.md`));
  const fresh = o.status === 'not selected' || o.status === 'skipped' || o.status === 'not run' ? [] : readdirSync(dir)
    .filter((f) => f.endsWith('.md') && f !== 'summary.md' && !others.has(f))
    .filter((f) => { const t = statSync(`${dir}/${f}`).mtimeMs; return t >= o.started && t <= ended; })
    .sort();
  return [...(existsSync(`${dir}/${own}`) ? [own] : []), ...fresh].map((f) => `${dir}/${f}`);
}

/** What a bench that ran skipped or sampled: its result's `coverage` list and what `notes` reads from the result. */
function coverageOf(o: Outcome): string[] {
  const file = `bench/results/${o.bench.name}.json`;
  if (o.status !== 'ok' || !existsSync(file) || statSync(file).mtimeMs < o.started) return [];
  const r = JSON.parse(readFileSync(file, 'utf8'));
  return [...(Array.isArray(r.coverage) ? (r.coverage as string[]) : []), ...(o.bench.notes?.(r) ?? [])];
}

const outcomes: Outcome[] = [];
for (const bench of BENCHES) {
  if (values['summary-only']) outcomes.push({ bench, status: 'not run', seconds: 0, note: 'summary only', started: start });
  else if (!selected.includes(bench)) outcomes.push({ bench, status: 'not selected', seconds: 0, note: '', started: start });
  else outcomes.push(await runOne(bench));
}

const m = machine();
const total = (Date.now() - start) / 1000;
const coverage = outcomes.flatMap((o) => {
  if (o.status === 'ok') return coverageOf(o);
  if (o.status === 'not selected' || o.status === 'not run') return [];
  return [`${o.bench.name}: ${o.status}${o.note ? ` (${o.note})` : ''}; its section below is from an earlier run, if any.`];
});
const parts = [
  '# Reprise benchmarks',
  '',
  `${m.cpus} × ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}, ${m.date}; load average at the end: ${m.loadavg}. ` +
    (values['summary-only'] ? 'Summary rebuilt from earlier results.' : `This run: ${selected.map((b) => b.name).join(', ')} in ${total.toFixed(0)} s (budget ${values.budget} s).`),
  '',
  table(outcomes.map((o) => ({ bench: o.bench.name, measures: o.bench.what, status: o.status, seconds: o.seconds ? o.seconds.toFixed(0) : '', note: o.note }))),
  '',
  ...(values['summary-only'] ? [] : [
    '## Skipped or sampled in this run',
    '',
    coverage.length ? coverage.map((c) => `- ${c}`).join('\n') : '- Nothing: every selected bench ran in full.',
    '',
  ]),
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
