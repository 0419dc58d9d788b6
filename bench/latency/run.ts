/**
 * @module bench/latency/run: Reprise under load, against a direct upstream and a peer gateway, in one run.
 *
 *   node --import tsx bench/latency/run.ts [--duration 10] [--warmup 2] [--connections 32] [--rounds 200] [--pairs 400]
 *                                          [--quick] [--profile] [--wait-quiet SECONDS]
 *
 * Every party runs in its own process: the fake upstream (bench/latency/upstream.ts), each Reprise
 * (serve-reprise.ts), the Portkey gateway, and the load generator (load.ts, autocannon) or the sequential client
 * (sequential.ts). This process only orchestrates, warms caches and writes bench/results/latency.{json,md,svg}.
 * `--profile` runs both Reprise processes (pass-through and caching) under `node --cpu-prof` (profiles in
 * bench/.cache/prof/).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summarize } from '../lib/stats.js';
import { runScript, startPortkey, startScript, type Child } from './children.js';
import { chatBody, loadPairs, qqpQuestions, spaceVariant, variantCount } from './data.js';
import type { LoadResult, LoadSpec } from './load.js';
import { f, pct, report, type LatencyData, type Scenario } from './report.js';
import type { SequentialResult, SequentialSpec } from './sequential.js';

const { values: o } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '200' },
    pairs: { type: 'string', default: '400' },
    quick: { type: 'boolean', default: false },
    'wait-quiet': { type: 'string', default: '0' },
    profile: { type: 'boolean', default: false },
  },
});
if (process.env.BENCH_QUICK === '1') o.quick = true;
// Under bench/run.ts: a full run takes about 3 minutes (up to 4 on a busy machine); with less time left, run short.
const secondsLeft = process.env.BENCH_DEADLINE ? (Number(process.env.BENCH_DEADLINE) - Date.now()) / 1000 : Infinity;
if (secondsLeft < 300) o.quick = true;
const cfg = {
  duration: o.quick ? 3 : Number(o.duration),
  warmup: o.quick ? 1 : Number(o.warmup),
  connections: Number(o.connections),
  rounds: o.quick ? 50 : Number(o.rounds),
  pairs: o.quick ? 200 : Number(o.pairs),
};
const AUTH = { authorization: 'Bearer sk-bench-latency' };
/** paired rounds of direct, pass-through, exact hits and Portkey, and the measured seconds of each run in them */
const PAIRED_ROUNDS = 3;
const PAIRED_SECONDS = 4;
/** measured seconds of each mixed-load run */
const MIXED_SECONDS = 5;
const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[latency +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);
const load1 = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** CPU ticks from /proc: the machine's busy and total, and this process's with its reaped children's. */
function ticks(): { busy: number; total: number; ours: number } | undefined {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    // /proc/self/stat: fields 14-17 are utime, stime, cutime, cstime (after the command name, which may hold spaces).
    const self = readFileSync('/proc/self/stat', 'utf8');
    const f = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    return { busy: total - v[3]! - v[4]!, total, ours: f[11]! + f[12]! + f[13]! + f[14]! };
  } catch {
    return undefined;
  }
}

/** Share of all cores busy over `ms`: what else is running before this bench starts its own. */
async function cpuBusy(ms: number): Promise<number> {
  const a = ticks();
  await new Promise((r) => setTimeout(r, ms));
  const b = ticks();
  return a && b ? (b.busy - a.busy) / (b.total - a.total) : NaN;
}

type ReprisInfo = { url: string; control: string; embedder: string };
const startReprise = (upstream: string, cache: boolean, profile = false, embedThread = true) =>
  startScript<ReprisInfo>('bench/latency/serve-reprise.ts', ['--upstream', upstream, '--cache', String(cache), '--embed-thread', String(embedThread)], {
    nodeFlags: profile ? ['--cpu-prof', '--cpu-prof-dir', 'bench/.cache/prof'] : [],
    timeoutMs: 120_000,
  });

let specN = 0;
function specFile(spec: unknown): string {
  const path = join(tmpdir(), `reprise-bench-${process.pid}-${specN++}.json`);
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

/** CPU time (user + system) a process has used so far, in ms, from /proc; undefined where there is no /proc. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return ((fields[11]! + fields[12]!) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on Linux everywhere this runs. */
const CLOCK_TICKS = 100;

type Parties = Record<string, Child<unknown> | undefined>;

/**
 * One autocannon run. `parties` are the processes serving it (the proxy, the upstream): the CPU time each used per
 * response is recorded beside the load generator's own, a figure that other work on a shared machine hardly moves,
 * where req/s moves with it.
 */
async function load(url: string, bodies: string[], headers: Record<string, string> = {}, parties: Parties = {}, timing: { duration?: number; warmup?: number; connections?: number } = {}): Promise<LoadResult> {
  const spec: LoadSpec = { url, headers: { ...AUTH, ...headers }, bodies, ...cfg, ...timing, countHeaders: ['x-cache-status', 'x-cache-match', 'x-cache-reason'] };
  const file = specFile(spec);
  const before = Object.fromEntries(Object.entries(parties).map(([name, c]) => [name, processCpuMs(c?.proc.pid)]));
  try {
    const r = await runScript<LoadResult>('bench/latency/load.ts', [file], (spec.duration + spec.warmup + 60) * 1000);
    const responses = r.warmupRequests + r.requests + r.non2xx;
    const cpuUsPerResponse: Record<string, number> = {};
    for (const [name, c] of Object.entries(parties)) {
      const a = before[name];
      const b = processCpuMs(c?.proc.pid);
      if (a !== undefined && b !== undefined && responses > 0) cpuUsPerResponse[name] = ((b - a) * 1000) / responses;
    }
    if (responses > 0) cpuUsPerResponse['load generator'] = (r.cpuMs * 1000) / responses;
    return { ...r, cpuUsPerResponse };
  } finally {
    rmSync(file, { force: true });
  }
}

async function sequential(spec: SequentialSpec): Promise<SequentialResult> {
  const file = specFile(spec);
  try {
    return await runScript<SequentialResult>('bench/latency/sequential.ts', [file], 300_000);
  } finally {
    rmSync(file, { force: true });
  }
}

interface Sent {
  status: number;
  cache: string;
  match: string;
  body: string;
}
/** One request for warming or probing (not measured). A connection error is retried twice, and logged. */
async function post(url: string, body: string, headers: Record<string, string> = {}, attempt = 1): Promise<Sent> {
  try {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH, ...headers }, body });
    return { status: r.status, cache: r.headers.get('x-cache-status') ?? '', match: r.headers.get('x-cache-match') ?? '', body: await r.text() };
  } catch (err) {
    if (attempt >= 3) throw err;
    log(`warm-up request failed (${String(err)}${err instanceof Error && err.cause ? `: ${String(err.cause)}` : ''}); retrying`);
    return post(url, body, headers, attempt + 1);
  }
}

/** Run `fn` over `items` with at most `n` in flight (warming caches; not measured). */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k]!);
    }
  }));
  return out;
}

const count = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});

// ---------------------------------------------------------------------------------------------------------------
mkdirSync('bench/.cache/prof', { recursive: true });
const questions = qqpQuestions();
const shared = questions.slice(0, 5000); // upstream-bound scenarios (direct, pass-through, Portkey)
const streamMiss = questions.slice(5100, 5100 + cfg.rounds + 50);
const missSet = questions.slice(6000);
const exactSet = missSet.slice(0, 300);
const pairs = loadPairs('paraphrase-easy.jsonl').slice(0, cfg.pairs);

const data: LatencyData = { config: cfg, loadavgBefore: load1(), loadavgAfter: '', scenarios: [], notes: [] };
const scenario = (id: string, label: string, result: LoadResult | undefined, extra: Partial<Scenario> = {}) => {
  data.scenarios.push({ id, label, ...(result && { result }), ...extra });
  if (result) log(`${label}: ${f(result.rps, 0)} req/s, p50 ${f(result.latencyMs.p50)} ms, p99 ${f(result.latencyMs.p99)} ms`);
};
const children: Array<Child<unknown>> = [];
let startTicks: ReturnType<typeof ticks>;

try {
  // --wait-quiet S: wait up to S seconds for other processes to leave the CPU (below 10% busy) before starting.
  const waitUntil = Date.now() + Number(o['wait-quiet']) * 1000;
  while ((data.busyBefore = await cpuBusy(2000)) > 0.1 && Date.now() < waitUntil) log(`waiting for a quieter machine: ${f(100 * data.busyBefore, 0)}% busy`);
  startTicks = ticks();
  data.loadavgBefore = load1();
  log(`load average before: ${data.loadavgBefore}; CPU busy over 2 s before starting: ${f(100 * data.busyBefore, 0)}%`);
  const upstream = await startScript<{ url: string }>('bench/latency/upstream.ts');
  children.push(upstream);
  const U = upstream.info.url;
  const upstreamBodies = shared.map((q) => chatBody(q));

  // 1. The upstream on its own.
  scenario('direct', 'direct upstream (fake, 0 ms)', await load(`${U}/chat/completions`, upstreamBodies, {}, { upstream }));

  // 2. Reprise with caching off.
  const pt = await startReprise(U, false, o.profile);
  children.push(pt);
  scenario('passthrough', 'Reprise pass-through (cache off)', await load(`${pt.info.url}/chat/completions`, upstreamBodies, {}, { proxy: pt, upstream }));

  // 6. Portkey, forwarding the same requests to the same upstream.
  let pk: Child<{ url: string }> | undefined;
  const pkHeaders = { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': U };
  try {
    pk = await startPortkey();
    children.push(pk);
    const headers = pkHeaders;
    const probe = await post(`${pk.info.url}/chat/completions`, upstreamBodies[0]!, headers);
    if (probe.status !== 200 || !probe.body.includes('chatcmpl-bench')) throw new Error(`Portkey probe: ${probe.status} ${probe.body.slice(0, 300)}`);
    scenario('portkey', 'Portkey gateway pass-through', await load(`${pk.info.url}/chat/completions`, upstreamBodies, headers, { proxy: pk, upstream }));
    // Streaming is not part of the comparison, but whether it works through the gateway here is worth knowing.
    const streamed = await post(`${pk.info.url}/chat/completions`, chatBody(shared[0]!, true), headers);
    data.notes.push(
      streamed.status === 200 && streamed.body.includes('[DONE]')
        ? 'Portkey gateway: a streaming request through it works too (not measured).'
        : `Portkey gateway: measured on non-streaming requests only; a streaming request through it fails here (${streamed.status} ${streamed.body.slice(0, 120)}; ` +
            'the gateway logs "TypeError: immutable": it appends headers to a Response whose headers the hoisted @hono/node-server 1.19 made immutable).',
    );
  } catch (err) {
    pk = undefined;
    scenario('portkey', 'Portkey gateway pass-through', undefined, { error: String(err).slice(0, 600) });
  }

  // 3. The miss path: a distinct question every request, in a fresh Reprise.
  const c = await startReprise(U, true, o.profile);
  children.push(c);
  const R = `${c.info.url}/chat/completions`;
  scenario('miss', 'Reprise miss (distinct questions)', await load(R, missSet.map((q) => chatBody(q)), {}, { proxy: c, upstream }));

  // 4. Exact hits: the first questions the miss run sent are stored by now; ask them again. The check stores any
  // that were still in flight when the miss run ended.
  const exactCheck = await pool(exactSet, 16, (q) => post(R, chatBody(q)));
  data.notes.push(`exact set: the first ${exactSet.length} questions of the miss run; asking them again before the exact-hit run gave ${pct(count(exactCheck.map((r) => `${r.cache}${r.match ? `/${r.match}` : ''}`)))}.`);
  // A question that hit another semantically in the miss run was not stored under its own text: leave it out.
  const exact = exactSet.filter((_, i) => exactCheck[i]!.match !== 'semantic');
  const exactBodies = exact.map((q) => chatBody(q));
  scenario('exact', 'Reprise exact hits', await load(R, exactBodies, {}, { proxy: c, upstream }));

  // 5. Semantic hits: store every `a`, then keep the pairs whose `b` really hits semantically. The probe sends
  // x-cache-ttl: 0 so that a `b` that misses is not stored (it would turn its later variants into exact hits).
  const warmA = await pool(pairs, 16, (p) => post(R, chatBody(p.a)));
  const probeB = await pool(pairs, 16, (p) => post(R, chatBody(p.b), { 'x-cache-ttl': '0' }));
  const hitting = pairs.filter((_, i) => probeB[i]!.cache === 'HIT' && probeB[i]!.match === 'semantic');
  data.semantic = {
    pairs: pairs.length,
    warmA: count(warmA.map((r) => r.cache)),
    probeB: count(probeB.map((r) => `${r.cache}${r.match ? `/${r.match}` : ''}`)),
    usable: hitting.length,
  };
  log(`semantic pairs: ${hitting.length} of ${pairs.length} hit semantically in the probe`);
  // Texts with at least 4 spaces, so that 65,536 distinct variants of each exist.
  const bs = hitting.map((p) => p.b).filter((b) => variantCount(b) >= 65_536);
  if (bs.length === 0) throw new Error('no paraphrase pair hit semantically, so there is nothing to measure semantic hits on');

  // One request at a time: first the fast paths, round-robin; then, in a rotation of their own (an embedding keeps
  // a core busy for tens of ms, which would slow whichever fast path came next), semantic hits that each pay a
  // fresh embedding (a never-seen variant of a b; the probe memoised the b itself), alternating with one embedding
  // of another never-seen variant timed inside the Reprise process: the same kind of text at the same moments.
  // Variant `slot` (0, 1 or 2) of the i-th b: slot 0 for the semantic hits one at a time, 1 for the embedding timed
  // beside them (the same b in the same round, so both see the same text length), 2 for the load run.
  const freshText = (i: number, slot: number) => spaceVariant(bs[i % bs.length]!, 1 + slot + 3 * Math.floor(i / bs.length));
  const fresh = (i: number, slot: number) => chatBody(freshText(i, slot));
  const n = cfg.rounds + 10;
  const plain = { name: 'direct upstream', url: `${U}/chat/completions`, headers: AUTH, bodies: upstreamBodies };
  const seqFast = await sequential({
    warmup: 10,
    rounds: cfg.rounds,
    targets: [
      plain,
      { name: 'Reprise pass-through', url: `${pt.info.url}/chat/completions`, headers: AUTH, bodies: upstreamBodies },
      { name: 'Reprise exact hit', url: R, headers: AUTH, bodies: exact.map((q) => chatBody(q)) },
    ],
  });
  const embedLog = async () => (await (await fetch(`${c.info.control}/embed-log`)).json()) as number[];
  await embedLog(); // cleared: from here on it holds the semantic hits' own embeddings, one per request, in order
  const seqSemantic = await sequential({
    warmup: 10,
    rounds: cfg.rounds,
    targets: [
      { ...plain, name: 'direct upstream (semantic rotation)' },
      { name: 'Reprise semantic hit (fresh embedding)', url: R, headers: AUTH, bodies: Array.from({ length: n }, (_, i) => fresh(i, 0)) },
      { name: 'one embedding (in the Reprise process)', url: `${c.info.control}/time-embed`, headers: {}, bodies: Array.from({ length: n }, (_, i) => JSON.stringify([freshText(i, 1)])), reportsMs: true },
    ],
  });
  const seq = { targets: { ...seqFast.targets, ...seqSemantic.targets } };
  data.embedMs = summarize(seq.targets['one embedding (in the Reprise process)']!.total);
  // The embedding each semantic hit paid itself (its request's own embed call), and the rest of its latency.
  const own = (await embedLog()).slice(10);
  const semTotals = seq.targets['Reprise semantic hit (fresh embedding)']!.total;
  if (own.length === semTotals.length && own.length > 0) {
    data.ownEmbedMs = summarize(own);
    data.semanticRestMs = summarize(semTotals.map((t, i) => t - own[i]!));
  } else log(`embed log has ${own.length} calls for ${semTotals.length} semantic hits: no split`);
  data.unloaded = seq;

  // Under load: every request a never-seen variant (so each pays one model call), then the plain b texts, whose
  // embeddings are memoised by now.
  scenario('semantic', 'Reprise semantic hits (fresh embedding each)', await load(R, Array.from({ length: Math.min(40_000, 21_000 * bs.length) }, (_, i) => fresh(i, 2)), {}, { proxy: c, upstream }));
  scenario('semantic-memo', 'Reprise semantic hits (memoised embedding)', await load(R, bs.map((b) => chatBody(b)), {}, { proxy: c, upstream }));

  // Paired rounds for the two throughput ratios. The runs above measure each scenario once, a minute or more apart,
  // and on a shared machine the load from elsewhere drifts in between (the same code has measured exact hits at 43%
  // and at 75% of direct). Here direct, pass-through, exact hits and Portkey run back to back, round after round,
  // and each ratio is taken within its round; the targets use the median round.
  const roundsOf = o.quick ? 1 : PAIRED_ROUNDS;
  const short = { duration: o.quick ? 2 : PAIRED_SECONDS, warmup: 1 };
  data.paired = [];
  for (let i = 0; i < roundsOf; i++) {
    const round: Record<string, LoadResult> = {};
    round.direct = await load(`${U}/chat/completions`, upstreamBodies, {}, { upstream }, short);
    round.passthrough = await load(`${pt.info.url}/chat/completions`, upstreamBodies, {}, { proxy: pt, upstream }, short);
    round.exact = await load(R, exactBodies, {}, { proxy: c, upstream }, short);
    if (pk) round.portkey = await load(`${pk.info.url}/chat/completions`, upstreamBodies, pkHeaders, { proxy: pk, upstream }, short);
    data.paired.push(Object.fromEntries(Object.entries(round).map(([k, r]) => [k, { rps: r.rps, p50: r.latencyMs.p50, p99: r.latencyMs.p99, cpuUsPerResponse: r.cpuUsPerResponse ?? {}, errors: r.errors + r.non2xx }])));
    log(`paired round ${i + 1}: ${Object.entries(round).map(([k, r]) => `${k} ${f(r.rps, 0)}`).join(', ')} req/s`);
  }

  // Mixed load: exact hits while new questions, each needing an embedding, arrive beside them, with the model in a
  // worker thread (as Reprise runs it) and in the server's own thread (as it ran before), so that what an embedding
  // does to the requests around it shows. Two load generators at once, 4 connections each.
  if (!o.quick) {
    const local = await startReprise(U, true, false, false);
    children.push(local);
    data.mixed = [];
    const fresh = shared.slice(1000, 4000);
    for (const [i, [placement, srv]] of ([['worker thread', c], ['server thread', local]] as const).entries()) {
      const url = `${srv.info.url}/chat/completions`;
      if (srv === local) await pool(exact, 16, (q) => post(url, chatBody(q)));
      const mix = { duration: MIXED_SECONDS, warmup: 1, connections: 4 };
      const questions = fresh.slice(i * 1500, (i + 1) * 1500).map((q) => chatBody(q));
      const [hits, misses] = await Promise.all([load(url, exactBodies, {}, { proxy: srv }, mix), load(url, questions, {}, {}, mix)]);
      const alone = await load(url, exactBodies, {}, { proxy: srv }, mix);
      const brief = (r: LoadResult) => ({ rps: r.rps, p50: r.latencyMs.p50, p99: r.latencyMs.p99, statuses: r.headerCounts['x-cache-status'] ?? {} });
      data.mixed.push({ placement, hits: brief(hits), misses: brief(misses), hitsAlone: brief(alone) });
      log(`mixed, model in the ${placement}: exact hits p50 ${f(hits.latencyMs.p50)} / p99 ${f(hits.latencyMs.p99)} ms beside misses (alone: ${f(alone.latencyMs.p50)} / ${f(alone.latencyMs.p99)} ms)`);
    }
    await local.stop();
  }

  // Streaming time to first byte, one request at a time, round-robin. The miss runs in its own rotation: its
  // embedding keeps a core busy for tens of ms, which would slow whichever fast path came next.
  const streamBodies = shared.map((q) => chatBody(q, true));
  const direct = { name: 'direct upstream', url: `${U}/chat/completions`, headers: AUTH, bodies: streamBodies };
  const fast = await sequential({
    warmup: 20,
    rounds: cfg.rounds,
    targets: [
      direct,
      { name: 'Reprise pass-through (cache off)', url: `${pt.info.url}/chat/completions`, headers: AUTH, bodies: streamBodies },
      { name: 'Reprise BYPASS (no-store)', url: R, headers: { ...AUTH, 'cache-control': 'no-store' }, bodies: streamBodies },
      { name: 'Reprise exact hit (replay)', url: R, headers: AUTH, bodies: exact.map((q) => chatBody(q, true)) },
    ],
  });
  const slow = await sequential({
    warmup: 20,
    rounds: cfg.rounds,
    targets: [{ ...direct, name: 'direct upstream (miss rotation)' }, { name: 'Reprise miss (incl. embedding)', url: R, headers: AUTH, bodies: streamMiss.map((q) => chatBody(q, true)) }],
  });
  data.ttfb = { targets: { ...fast.targets, ...slow.targets } };
} catch (err) {
  const cause = err instanceof Error && err.cause ? ` (cause: ${String(err.cause)})` : '';
  data.notes.push(`run aborted: ${String(err).slice(0, 1000)}${cause}`);
  log(`${String(err)}${cause}`);
  for (const c of children) if (c.proc.exitCode !== null || c.proc.signalCode) log(`child ${c.proc.spawnargs.slice(-3).join(' ')} exited (${c.proc.exitCode ?? c.proc.signalCode}): ${c.stderr().slice(-2000)}`);
} finally {
  for (const c of children.reverse()) await c.stop();
}
data.loadavgAfter = load1();
const endTicks = ticks();
// Every child has exited and been reaped by now, so their CPU time is in `ours`; the rest was someone else's.
if (startTicks && endTicks) data.busyOthers = (endTicks.busy - startTicks.busy - (endTicks.ours - startTicks.ours)) / (endTicks.total - startTicks.total);
data.seconds = (Date.now() - t0) / 1000;
const written = report(data);
log(`done in ${data.seconds.toFixed(0)} s: ${written.join(', ')}`);
