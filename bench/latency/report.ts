/** @module bench/latency/report: latency results → bench/results/latency.{json,md} and two SVG charts. */
import { cpus } from 'node:os';
import { lineChart, writeChart } from '../lib/svg.js';
import { machine, percentile, summarize, table, writeResult, writeSummary } from '../lib/stats.js';
import { barChart } from './bar-chart.js';
import type { LoadResult } from './load.js';
import type { SequentialResult } from './sequential.js';

export interface Scenario {
  id: string;
  label: string;
  result?: LoadResult;
  error?: string;
}

export interface LatencyData {
  config: { duration: number; warmup: number; connections: number; rounds: number; pairs: number };
  loadavgBefore: string;
  /** share of all cores busy with other work just before the run */
  busyBefore?: number;
  /** share of all cores that processes outside this run used while it ran */
  busyOthers?: number;
  loadavgAfter: string;
  seconds?: number;
  scenarios: Scenario[];
  notes: string[];
  semantic?: { pairs: number; warmA: Record<string, number>; probeB: Record<string, number>; usable: number };
  /** one embedding through Reprise's embedder stack, timed in the Reprise process, sequentially */
  embedMs?: ReturnType<typeof summarize>;
  /** the embed call inside each semantic hit of the unloaded run (the embedding that request paid) */
  ownEmbedMs?: ReturnType<typeof summarize>;
  /** each of those semantic hits' client-side latency minus its own embedding: HTTP, key, search, verify, write */
  semanticRestMs?: ReturnType<typeof summarize>;
  /** one request at a time, non-streaming */
  unloaded?: SequentialResult;
  /** interleaved short runs of direct, pass-through, exact hits and Portkey, for the throughput ratios */
  paired?: Array<Record<string, PairedRun>>;
  /** exact hits beside misses, with the model in a worker thread and in the server thread */
  mixed?: Array<{ placement: string; hits: MixedRun; misses: MixedRun; hitsAlone: MixedRun }>;
  /** one streaming request at a time */
  ttfb?: SequentialResult;
}

export interface PairedRun {
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerResponse: Record<string, number>;
  errors: number;
}

export interface MixedRun {
  rps: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
}

export interface Target {
  target: string;
  goal: string;
  measured: string;
  verdict: string;
  met: boolean | null;
}

/** A number for a table; NaN (and null, which is what NaN becomes in JSON) as n/a. */
export const f = (v: number | null | undefined, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : 'n/a');
/** A ratio with two significant digits below 1 (0.0031), two decimals above. */
const ratio = (r: number) => (!Number.isFinite(r) ? 'n/a' : r >= 1 ? r.toFixed(2) : r === 0 ? '0' : r.toPrecision(2));
/** `HIT 97.0%, MISS 3.0%` */
export const pct = (counts: Record<string, number>) => {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${((100 * v) / total).toFixed(v === total ? 0 : 1)}%`)
    .join(', ');
};

function pairedSection(d: LatencyData): string[] {
  if (!d.paired?.length) return [];
  const rows = d.paired.map((r, i) => ({
    round: i + 1,
    'direct req/s': f(r.direct?.rps, 0),
    'pass-through req/s': f(r.passthrough?.rps, 0),
    'exact hits req/s': f(r.exact?.rps, 0),
    'Portkey req/s': f(r.portkey?.rps, 0),
    'exact / direct': r.exact && r.direct ? `${f((100 * r.exact.rps) / r.direct.rps, 1)}%` : 'n/a',
    'pass-through / direct': r.passthrough && r.direct ? `${f((100 * r.passthrough.rps) / r.direct.rps, 1)}%` : 'n/a',
    'pass-through / Portkey': r.passthrough && r.portkey ? `${f(r.passthrough.rps / r.portkey.rps, 2)}×` : 'n/a',
    'CPU µs/response: Reprise pass-through, Portkey': `${f(r.passthrough?.cpuUsPerResponse.proxy, 0)}, ${f(r.portkey?.cpuUsPerResponse.proxy, 0)}`,
    errors: Object.values(r).reduce((a, x) => a + x.errors, 0),
  }));
  return [
    '## Paired rounds (the throughput ratios)',
    '',
    `Direct, pass-through, exact hits and Portkey back to back, ${d.paired.length} round${d.paired.length === 1 ? "" : "s"} of ${d.config.connections} connections, 1 s warm-up + a few seconds each; each ratio is taken within its round, so drift in what else the machine runs falls on both sides of it. The targets above use the median round.`,
    '',
    table(rows),
    '',
  ];
}

function mixedSection(d: LatencyData): string[] {
  if (!d.mixed?.length) return [];
  const rows = d.mixed.map((m) => ({
    'the model runs in the': m.placement,
    'exact hits alone p50 / p99 ms': `${f(m.hitsAlone.p50)} / ${f(m.hitsAlone.p99)}`,
    'exact hits beside misses p50 / p99 ms': `${f(m.hits.p50)} / ${f(m.hits.p99)}`,
    'exact hits beside misses req/s': f(m.hits.rps, 0),
    'misses req/s': f(m.misses.rps, 1),
    'misses p50 ms': f(m.misses.p50, 0),
    'X-Cache-Status (hits; misses)': `${pct(m.hits.statuses)}; ${pct(m.misses.statuses)}`,
  }));
  return [
    '## Exact hits while misses run (mixed load)',
    '',
    'Two load generators at once against one Reprise, 4 connections each: one repeats stored questions (exact hits), the other sends questions never seen, each of which needs an embedding before it goes upstream; then the exact hits again on their own. Once with the bundled model in a worker thread, as Reprise runs it, and once in the server\'s own thread, as it ran before (`serve-reprise.ts --embed-thread false`). With the model in the server thread, a hit that arrives during an embedding waits for it.',
    '',
    table(rows),
    '',
  ];
}

function cpuSection(d: LatencyData): string[] {
  const rows = d.scenarios
    .filter((s) => s.result?.cpuUsPerResponse)
    .map((s) => {
      const c = s.result!.cpuUsPerResponse!;
      return { scenario: s.label, 'proxy µs': f(c.proxy, 0), 'upstream µs': f(c.upstream, 0), 'load generator µs': f(c['load generator'], 0) };
    });
  if (!rows.length) return [];
  return [
    '## CPU per response',
    '',
    'CPU time (user + system, from /proc) each process used per response over the whole run, warm-up included. It moves less than req/s with what else the machine runs, though contention still raises it (the same code has measured 95 and 174 µs for a pass-through in one run\'s paired rounds). The load generator and the upstream take their share of the 2 cores in every scenario: that is why a proxy that costs a fraction of another\'s CPU does not get the same multiple in req/s.',
    '',
    table(rows),
    '',
  ];
}

function seqSummary(r: SequentialResult | undefined) {
  if (!r) return {};
  return Object.fromEntries(
    Object.entries(r.targets).map(([name, t]) => [name, { ttfb: summarize(t.ttfb), total: summarize(t.total), statuses: t.statuses, errors: t.errors }]),
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** a's req/s over b's, in each paired round that has both */
function pairedRatios(d: LatencyData, a: string, b: string): number[] {
  return (d.paired ?? []).filter((r) => r[a] && r[b] && r[b]!.rps > 0).map((r) => r[a]!.rps / r[b]!.rps);
}

/** "Reprise 95 µs, Portkey 1,900 µs: 20× less" from the long runs' proxy CPU per response */
function cpuRatio(pt: LoadResult | undefined, pk: LoadResult | undefined): string | undefined {
  const a = pt?.cpuUsPerResponse?.proxy;
  const b = pk?.cpuUsPerResponse?.proxy;
  if (!a || !b) return undefined;
  return `Reprise ${f(a, 0)} µs, Portkey ${f(b, 0)} µs, ${f(b / a, 1)}× less (the proxy process alone; see "CPU per response")`;
}

/**
 * What a proxy that used no CPU at all could reach here: the load generator and the upstream still need their CPU
 * per response (as measured in the pass-through run) out of the machine's cores.
 */
function zeroCostCeiling(pt: LoadResult | undefined, pkRps: number | undefined, pkWhat: string): string | undefined {
  const c = pt?.cpuUsPerResponse;
  const lg = c?.['load generator'];
  const up = c?.upstream;
  if (!lg || !up || !pkRps) return undefined;
  const cores = cpus().length;
  const rps = (cores * 1e6) / (lg + up);
  return `Ceiling for a proxy that used no CPU at all: the load generator (${f(lg, 0)} µs) and the upstream (${f(up, 0)} µs) per response on ${cores} cores allow about ${f(rps, 0)} req/s, ${f(rps / pkRps, 1)}× Portkey's ${pkWhat}`;
}

function targets(d: LatencyData): Target[] {
  const by = (id: string) => d.scenarios.find((s) => s.id === id)?.result;
  const direct = by('direct');
  const out: Target[] = [];
  const exact = by('exact');
  const pt = by('passthrough');
  const pk = by('portkey');
  // The median of the paired rounds when there are any (see run.ts); the long runs above otherwise.
  const exactRatios = pairedRatios(d, 'exact', 'direct');
  const ptRatios = pairedRatios(d, 'passthrough', 'portkey');
  const long = (a: LoadResult | undefined, b: LoadResult | undefined) => (a && b ? a.rps / b.rps : NaN);
  if (exactRatios.length || (direct && exact)) {
    const r = exactRatios.length ? median(exactRatios) : long(exact, direct);
    const how = exactRatios.length
      ? `${f(100 * r, 1)}%: median of ${exactRatios.length} paired round${exactRatios.length === 1 ? "" : "s"} (${exactRatios.map((x) => `${f(100 * x, 0)}%`).join(', ')}); the long run: ${f(100 * long(exact, direct), 1)}% (${exact?.rps.toFixed(0)} vs ${direct?.rps.toFixed(0)} req/s)`
      : `${f(100 * r, 1)}% (${exact!.rps.toFixed(0)} vs ${direct!.rps.toFixed(0)} req/s)`;
    out.push({
      target: 'exact hits vs direct upstream (req/s)',
      goal: '≥ 80% of direct',
      measured: how,
      met: r >= 0.8,
      verdict: r >= 0.8 ? 'met' : `missed by ${f(100 * (0.8 - r), 1)} percentage points`,
    });
  }
  if (ptRatios.length || (pt && pk)) {
    const r = ptRatios.length ? median(ptRatios) : long(pt, pk);
    const how = ptRatios.length
      ? `${f(r, 2)}×: median of ${ptRatios.length} paired round${ptRatios.length === 1 ? "" : "s"} (${ptRatios.map((x) => `${f(x, 1)}×`).join(', ')}); the long run: ${f(long(pt, pk), 2)}× (${pt?.rps.toFixed(0)} vs ${pk?.rps.toFixed(0)} req/s)`
      : `${f(r, 2)}× (${pt!.rps.toFixed(0)} vs ${pk!.rps.toFixed(0)} req/s)`;
    const cpu = cpuRatio(pt, pk);
    const pkPaired = (d.paired ?? []).map((x) => x.portkey?.rps).filter((x): x is number => x !== undefined);
    const ceiling = pkPaired.length ? zeroCostCeiling(pt, median(pkPaired), `median paired round (${f(median(pkPaired), 0)} req/s)`) : zeroCostCeiling(pt, pk?.rps, 'long run');
    out.push({
      target: 'pass-through vs Portkey gateway (req/s)',
      goal: '≥ 20× Portkey',
      measured: `${how}${cpu ? `. CPU per request: ${cpu}` : ''}${ceiling ? `. ${ceiling}` : ''}`,
      met: r >= 20,
      verdict: r >= 20 ? 'met' : `missed: ${f(r, 2)}× instead of 20× (${f(20 / r, 1)}× short)`,
    });
  } else {
    out.push({ target: 'pass-through vs Portkey gateway (req/s)', goal: '≥ 20× Portkey', measured: 'not measured', met: null, verdict: d.scenarios.find((s) => s.id === 'portkey')?.error ?? 'no result' });
  }
  const t = d.ttfb?.targets;
  const dir = t?.['direct upstream'];
  const ptt = t?.['Reprise pass-through (cache off)'];
  const byp = t?.['Reprise BYPASS (no-store)'];
  if (dir && ptt && byp) {
    const base = percentile(dir.ttfb, 50);
    const dpt = percentile(ptt.ttfb, 50) - base;
    const dby = percentile(byp.ttfb, 50) - base;
    out.push({
      target: 'streaming TTFB through Reprise vs direct (p50)',
      goal: '≤ direct + 2 ms',
      measured: `pass-through +${f(dpt)} ms, BYPASS (cache on, no-store) +${f(dby)} ms (direct ${f(base)} ms)`,
      met: dpt <= 2 && dby <= 2,
      verdict: dpt <= 2 && dby <= 2 ? 'met' : `missed by ${f(Math.max(dpt, dby) - 2)} ms`,
    });
  }
  // 32 connections of questions never seen before (the miss scenario) against the same load on the upstream alone.
  const missRun = d.scenarios.find((s) => s.id === 'miss')?.result;
  const directRun = d.scenarios.find((s) => s.id === 'direct')?.result;
  if (missRun && directRun && d.embedMs) {
    const add50 = missRun.latencyMs.p50 - directRun.latencyMs.p50;
    const add99 = missRun.latencyMs.p99 - directRun.latencyMs.p99;
    const ok = add50 <= d.embedMs.p50 + 10 && add99 <= d.embedMs.p50 + 50;
    out.push({
      target: 'a miss under 32 concurrent new questions: added latency over direct',
      goal: `p50 ≤ one embedding + 10 ms (${f(d.embedMs.p50 + 10)}), p99 ≤ one embedding + 50 ms (${f(d.embedMs.p50 + 50)})`,
      measured: `p50 +${f(add50)} ms, p99 +${f(add99)} ms (X-Cache-Reason: ${Object.entries(missRun.headerCounts['x-cache-reason'] ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'})`,
      met: ok,
      verdict: ok ? 'met' : `missed: p50 by ${f(Math.max(0, add50 - d.embedMs.p50 - 10))} ms, p99 by ${f(Math.max(0, add99 - d.embedMs.p50 - 50))} ms`,
    });
  }
  const sem = d.unloaded?.targets['Reprise semantic hit (fresh embedding)'];
  if (sem && d.embedMs) {
    const p50 = percentile(sem.total, 50);
    const budget = d.embedMs.p50 + 2;
    out.push({
      target: 'semantic hit p50 vs one embedding + 2 ms (one request at a time)',
      goal: `≤ ${f(budget)} ms (embedding p50 ${f(d.embedMs.p50)} ms + 2)`,
      measured: `${f(p50)} ms (client-side, including the HTTP round trip)${d.semanticRestMs && d.ownEmbedMs ? `; split per request: its own embedding p50 ${f(d.ownEmbedMs.p50)} ms, the rest p50 ${f(d.semanticRestMs.p50)} ms, p99 ${f(d.semanticRestMs.p99)} ms` : ''}`,
      met: p50 <= budget,
      verdict: p50 <= budget ? 'met' : `missed by ${f(p50 - budget)} ms`,
    });
  }
  return out;
}

/** The issue's order: the baseline, Reprise from cheapest to dearest path, then the peer gateway. */
const ORDER = ['direct', 'passthrough', 'miss', 'exact', 'semantic', 'semantic-memo', 'portkey'];

export function report(d: LatencyData): string[] {
  d.scenarios.sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
  const direct = d.scenarios.find((s) => s.id === 'direct')?.result;
  const rows = d.scenarios.map((s) => {
    const r = s.result;
    if (!r) return { scenario: s.label, 'req/s': 'failed', 'p50 ms': '', 'p99 ms': '', '× direct': '', 'errors / non-2xx': '', 'X-Cache-Status seen': (s.error ?? '').split('\n')[0]!.slice(0, 120) };
    return {
      scenario: s.label,
      'req/s': Math.round(r.rps),
      'p50 ms': f(r.latencyMs.p50),
      'p99 ms': f(r.latencyMs.p99),
      '× direct': direct ? ratio(r.rps / direct.rps) : '',
      'errors / non-2xx': `${r.errors} / ${r.non2xx}`,
      'X-Cache-Status seen': s.id === 'direct' || s.id === 'portkey' ? '' : `${pct(r.headerCounts['x-cache-status'] ?? {})}${s.id.startsWith('semantic') ? `; match: ${pct(r.headerCounts['x-cache-match'] ?? {})}` : ''}`,
    };
  });
  const seqRows = (r: SequentialResult | undefined, key: 'ttfb' | 'total') => {
    if (!r) return [];
    return Object.entries(r.targets).map(([name, t]) => {
      // Each path is compared with the direct upstream measured in the same rotation.
      const base = name.includes('miss') ? r.targets['direct upstream (miss rotation)'] : name.includes('semantic') ? r.targets['direct upstream (semantic rotation)'] : r.targets['direct upstream'];
      const b50 = base ? percentile(base[key], 50) : NaN;
      const b99 = base ? percentile(base[key], 99) : NaN;
      return {
      path: name,
      n: t[key].length,
      'p50 ms': f(percentile(t[key], 50)),
      'p99 ms': f(percentile(t[key], 99)),
      'Δp50 vs direct': name.startsWith('direct upstream') || name.startsWith('one embedding') ? '' : `${f(percentile(t[key], 50) - b50)}`,
      'Δp99 vs direct': name.startsWith('direct upstream') || name.startsWith('one embedding') ? '' : `${f(percentile(t[key], 99) - b99)}`,
      'X-Cache-Status': name.startsWith('one embedding') ? '' : pct(t.statuses),
      errors: t.errors,
      };
    });
  };
  const tg = targets(d);
  for (const s of d.scenarios) {
    const r = s.result;
    if (r && (s.id === 'miss' || s.id === 'semantic')) {
      d.notes.push(`${s.label}: ${r.warmupRequests} warm-up + ${r.requests} measured requests over ${r.bodiesAvailable} distinct bodies${r.warmupRequests + r.requests > r.bodiesAvailable ? ' (the list wrapped, so some were repeats)' : ' (none repeated)'}.`);
    }
  }
  const m = machine();

  const md = [
    '# Latency under load',
    '',
    `${m.cpus} × ${m.cpu}, Node ${m.node}; load generator, fake upstream, proxy each in its own process on the same machine. ` +
      `autocannon, ${d.config.connections} connections, ${d.config.warmup} s warm-up + ${d.config.duration} s measured per scenario. ` +
      `Load average before: ${d.loadavgBefore}; after: ${d.loadavgAfter}. Other processes used ${f(100 * (d.busyBefore ?? NaN), 0)}% of the CPU just before the run ` +
      `and ${f(100 * (d.busyOthers ?? NaN), 0)}% while it ran. Run took ${f(d.seconds ?? NaN, 0)} s.`,
    ...(Math.max(d.busyBefore ?? 0, d.busyOthers ?? 0) > 0.1
      ? ['', `**The machine was not quiet**: other processes used ${f(100 * Math.max(d.busyBefore ?? 0, d.busyOthers ?? 0), 0)}% of its CPU, so the throughput figures are low and noisy by an unknown amount.`]
      : []),
    '',
    table(rows),
    '',
    'Latencies are client-side (autocannon `response` events, sub-millisecond), 2xx only; p50/p99 by nearest rank. ' +
      'The miss path includes one embedding (USE-lite, micro-batched under concurrency) plus the upstream call and the store. ' +
      'Semantic hits "fresh embedding" send each paraphrase with a different mix of Unicode spaces, which NFKC (the USE-lite tokenizer) ' +
      "and Reprise's whitespace normalisation both treat as plain spaces: every request is a string Reprise has not seen, so each pays one model call, " +
      'exactly as a new paraphrase would, with the same vector as the paraphrase. "Memoised embedding" repeats the plain paraphrases, whose vectors are remembered.',
    '',
    '![req/s](latency-throughput.svg)',
    '',
    '## Targets',
    '',
    table(tg.map((t) => ({ target: t.target, goal: t.goal, measured: t.measured, verdict: t.met === null ? `not measured: ${t.verdict.split('\n')[0]!.slice(0, 200)}` : t.verdict }))),
    '',
    ...pairedSection(d),
    ...cpuSection(d),
    ...mixedSection(d),
    '## Streaming time to first byte (one request at a time)',
    '',
    `${d.config.rounds} streaming requests per path after 20 warm-up requests, round-robin across paths, one keep-alive connection each; ` +
      'the miss in a rotation of its own with the direct upstream (its Δ is against that rotation\'s direct row). ' +
      'TTFB runs from writing the request to the first body byte. Pass-through and BYPASS forward at once; ' +
      'a miss first embeds the question and searches the cache (no hit), so its TTFB is one embedding plus the pass-through overhead; ' +
      'an exact hit replays the stored answer as SSE without calling the upstream.',
    '',
    table(seqRows(d.ttfb, 'ttfb')),
    '',
    '![TTFB](latency-ttfb.svg)',
    '',
    '## Unloaded latency (one request at a time, non-streaming)',
    '',
    `${d.config.rounds} requests per path after 10 warm-up requests, round-robin; the semantic hit and the embedding in a rotation of their own. "One embedding" is the time Reprise's own embedder ` +
      '(memo → micro-batcher → USE-lite) takes for one never-seen paraphrase variant, timed inside the Reprise process (server-side, no HTTP), ' +
      'in the same rounds as the semantic hits, on the same kind of text: USE-lite costs about in proportion to the length of the text ' +
      '(a paraphrase-easy sentence is about 130 characters; a qqp question, about 55, embeds about twice as fast).',
    '',
    table(seqRows(d.unloaded, 'total')),
    '',
    d.semantic
      ? `Semantic set: ${d.semantic.pairs} paraphrase-easy pairs; storing every \`a\` gave ${pct(d.semantic.warmA)}. Probing every \`b\` once (with \`x-cache-ttl: 0\`, so misses are not stored) gave ${pct(d.semantic.probeB)}; the ${d.semantic.usable} pairs whose \`b\` hit semantically are the ones used.`
      : '',
    '',
    ...(d.notes.length ? ['## Notes', '', ...d.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');

  const bars = d.scenarios.filter((s) => s.result).map((s) => ({ label: s.label, value: s.result!.rps, note: direct ? `${ratio(s.result!.rps / direct.rps)}× direct` : '' }));
  const cdf = (xs: number[]): Array<[number, number]> => {
    const s = [...xs].sort((a, b) => a - b);
    return s.map((v, i) => [v, (i + 1) / s.length]);
  };
  // The miss (one embedding, tens of ms) would squash the curves that matter here into the left edge: it is left
  // to the table. Labels are short so the legend stays clear of the curves.
  const charted = Object.entries(d.ttfb?.targets ?? {}).filter(([name]) => !name.includes('miss'));
  const ttfbSeries = charted.map(([label, t]) => ({ label: label.replace(/^Reprise /, '').replace(' upstream', ''), points: cdf(t.ttfb) }));
  const xmax = Math.max(1, ...charted.map(([, t]) => percentile(t.ttfb, 99)));
  const written = [
    writeResult('latency', { ...d, unloaded: seqSummary(d.unloaded), ttfb: seqSummary(d.ttfb), targets: tg }),
    writeSummary('latency', md),
  ];
  if (bars.length) written.push(writeChart('latency-throughput', barChart(bars, { title: `Throughput, ${d.config.connections} connections (autocannon)`, unit: 'req/s', log: true })));
  if (ttfbSeries.length) {
    written.push(
      writeChart('latency-ttfb', lineChart(ttfbSeries.map((s) => ({ ...s, points: s.points.filter((p) => p[0] <= xmax) })), {
        title: 'Streaming TTFB, one request at a time (CDF to the slowest p99; miss in the table)',
        x: { label: 'ms', min: 0, max: xmax },
        y: { label: 'fraction of requests', min: 0, max: 1 },
        width: 720,
      })),
    );
  }
  return written;
}
