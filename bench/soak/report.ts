/** @module bench/soak/report: a soak run → bench/results/soak.{json,md}. */
import { machine, table, writeResult, writeSummary } from '../lib/stats.js';
import type { Evidence, TrafficResult } from './traffic.js';

export interface Sample {
  /** seconds since the traffic started */
  t: number;
  rssMiB: number;
  entries?: number;
  stored?: number;
  coalesced?: number;
  faults?: Record<string, number>;
  requests?: Record<string, number>;
}

export interface Restart {
  killedAt: number;
  restartedAt: number;
  statsBefore?: Record<string, any>;
  statsAtRestart?: Record<string, any>;
  statsLater?: { t: number; stats?: Record<string, any> };
}

export interface SoakData {
  startAt: number;
  seconds: number;
  warmup: number;
  clients: number;
  seed: number;
  styles: string[];
  downMs: number;
  traffic: TrafficResult;
  samples: Sample[];
  health: Array<{ t: number; store: string }>;
  restarts: Restart[];
  finalStats?: Record<string, any>;
  upstream: { calls: number; byFate: Record<string, number>; slow: number; byEnd: Record<string, number> };
  logs: Record<string, number>;
  notable: Record<string, { n: number; first: number; last: number; line: string }>;
  command: string;
  repriseCommand: string;
  notes: string[];
  coverage: string[];
  wallSeconds: number;
  repriseStderr?: string;
  /** the commit, and the files under src/ that differ from it: what code this run tested */
  code?: { head: string; modified: string[] };
}

/** Memory counts as flat when the end is within this share of the start (after warm-up). */
const FLAT_SHARE = 0.1;

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const sumFaults = (s?: Record<string, any>) => (s?.faults ? Object.values(s.faults as Record<string, number>).reduce((a, b) => a + b, 0) : NaN);

/** Outcomes in the timeline's seconds [from, to). */
function outcomesIn(tl: TrafficResult['timeline'], from: number, to: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [sec, counts] of Object.entries(tl)) {
    const s = Number(sec);
    if (s < from || s >= to) continue;
    for (const [k, n] of Object.entries(counts)) out[k] = (out[k] ?? 0) + n;
  }
  return out;
}
const errorsOf = (m: Record<string, number>) => Object.entries(m).filter(([k]) => k.startsWith('ERROR')).reduce((a, [, n]) => a + n, 0);
/** A restart's windows in whole seconds: down [from, up), then after [up, until) up to 15 s or the next kill. */
function windows(restarts: Restart[]) {
  return restarts.map((r, i) => {
    const from = Math.floor(r.killedAt);
    const up = Math.ceil(r.restartedAt);
    const next = restarts[i + 1];
    return { from, up, until: Math.min(up + 15, next ? Math.floor(next.killedAt) : Infinity) };
  });
}
const top = (m: Record<string, number>, n = 4) => Object.entries(m).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${k} ${v}`).join(', ');

export function memory(d: Pick<SoakData, 'samples' | 'warmup'>) {
  const after = d.samples.filter((s) => s.t >= d.warmup && Number.isFinite(s.rssMiB));
  const start = after[0];
  const end = after.at(-1);
  if (!start || !end) return undefined;
  // Least-squares slope over the samples after warm-up, MiB per minute.
  const n = after.length;
  const mt = after.reduce((a, s) => a + s.t, 0) / n;
  const mr = after.reduce((a, s) => a + s.rssMiB, 0) / n;
  const cov = after.reduce((a, s) => a + (s.t - mt) * (s.rssMiB - mr), 0);
  const vt = after.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  const growth = end.rssMiB - start.rssMiB;
  const share = growth / start.rssMiB;
  return {
    startMiB: start.rssMiB, startT: start.t, endMiB: end.rssMiB, endT: end.t, peakMiB: Math.max(...after.map((s) => s.rssMiB)), growthMiB: growth, growthShare: share,
    slopeMiBPerMin: vt > 0 ? (cov / vt) * 60 : 0,
    /** no leak: the end is not above the start by more than FLAT_SHARE */
    flat: share <= FLAT_SHARE,
    verdict: share > FLAT_SHARE ? 'grew' : share < -FLAT_SHARE ? 'fell (no growth)' : 'flat',
  };
}

function evidenceLines(list: Evidence[], n: number): string[] {
  return list.slice(0, n).map((e) => {
    const up = e.upstream ? ` Upstream's record of ${e.call}: \`${JSON.stringify(e.upstream)}\`.` : '';
    const leader = e.leaderHungUp ? ` The client that led ${e.call} hung up first: ${e.leaderHungUp.map((l) => `${l.when} at +${l.t.toFixed(1)} s (its X-Cache-Status ${l.cache})`).join('; ')}.` : '';
    return `- +${e.t.toFixed(1)} s, ${e.tenant} (${e.style}), ${e.stream ? 'stream' : 'JSON'}${e.cacheControl !== 'default' ? `, ${e.cacheControl}` : ''}${e.burst ? ', in a burst' : ''}, "${e.question}" [${e.scope}]: **${e.detail}**. Status ${e.status ?? '–'}, headers \`${JSON.stringify(e.headers)}\`, answer text \`${JSON.stringify(e.content.slice(0, 200))}\`, body ends \`${JSON.stringify(e.bodyTail.slice(-100))}\`.${up}${leader}`;
  });
}

export function report(d: Partial<SoakData> & { notes: string[]; coverage?: string[] }): string[] {
  const written = [writeResult('soak', { ...d, memory: d.samples && d.warmup !== undefined ? memory(d as SoakData) : undefined })];
  const m = machine();
  const lines = ['# Soak: mixed traffic under faults', ''];
  if (!d.traffic) {
    lines.push(`The run did not complete: ${d.notes.join(' ')}`, '');
    written.push(writeSummary('soak', lines.join('\n')));
    return written;
  }
  const t = d.traffic;
  const mem = memory(d as SoakData);
  const reprise = t.outcomes['Reprise failure'] ?? 0;
  lines.push(
    `**Wrong responses: ${t.wrong.total}** (goal 0) · **failures caused by Reprise: ${reprise}** (goal 0) · ` +
      `**memory: ${mem ? `${f1(mem.startMiB)} → ${f1(mem.endMiB)} MiB RSS (${mem.growthMiB >= 0 ? '+' : ''}${f1(mem.growthMiB)} MiB, ${(100 * mem.growthShare).toFixed(1)}%; ${mem.verdict})` : 'not measured'}**`,
    '',
    `${m.cpus} × ${m.cpu}, Node ${m.node}. ${d.seconds} s of traffic (first ${d.warmup} s warm-up) from ${d.clients} client loops, ${t.requests} requests, ` +
      `${d.wallSeconds?.toFixed(0)} s in all; seed ${d.seed}. Each process on its own: redis-server (no persistence), the fake upstream ` +
      '(bench/soak/upstream.ts), Reprise from its CLI entry, the clients (bench/soak/traffic.ts).',
    '',
    `- Tenants: ${t.tenants.join(', ')}; 4 scopes (2 models × 2 system prompts); 14 questions × 3 paraphrases, the first text of each asked 60% of the time.`,
    '- Mix: half `stream: true` (a fifth of those with `include_usage`), 8% `Cache-Control: no-store`, 3% `no-cache`, a quarter of the rest stored for 2-7 s only (`x-cache-ttl`); ' +
      'one turn in eight a burst of three at once (mostly one tenant\'s identical requests, else one question from three tenants); ' +
      `one request in ten is to hang up early: as soon as it is sent, 1-40 ms after, or after 1-900 body bytes (${t.aborts.planned} planned, ${t.aborts.happened} did; the others had their whole answer first, as a hit does within a millisecond).`,
    `- Upstream: ${d.upstream!.calls} calls; ${top(d.upstream!.byFate, 12)}; ${d.upstream!.slow} slow. What became of them: ${top(d.upstream!.byEnd, 12)}.`,
    `- Redis killed (SIGKILL) and restarted empty ${d.restarts!.length} times, down ${(d.downMs! / 1000).toFixed(1)} s each.`,
    ...(d.coverage?.length ? [`- ${d.coverage.join(' ')}`] : []),
    ...d.notes.map((n) => `- ${n}`),
    '',
    '## Outcomes',
    '',
    table(
      Object.entries(t.outcomes)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => ({ outcome: k, requests: n, share: `${((100 * n) / t.requests).toFixed(1)}%`, 'p50 ms': f1(t.latencyMs[k]?.p50 ?? NaN), 'p99 ms': f1(t.latencyMs[k]?.p99 ?? NaN), 'X-Cache-Status seen': top(t.byCache[k] ?? {}, 5) })),
    ),
    '',
    'MISS, BYPASS, ERROR and HIT rows are complete responses (and passed every check unless listed as wrong below). ERROR is Reprise failing open (its cache unreachable): the request went upstream. ' +
      '"Upstream … passed through" are the faults the fake upstream injected, reaching the client as they should: the error status, or the stream cut (a joiner shares its leader\'s). ' +
      (t.outcomes['keep-alive race (retried)'] ? '"keep-alive race" is a reset before any byte on a reused connection, retried once as HTTP clients do. ' : '') +
      `${t.hitCallsChecked} distinct stored answers served as HITs were checked against the upstream's record of the call they came from.`,
    '',
    '## Wrong responses',
    '',
    t.wrong.total === 0 ? 'None.' : table(Object.entries(t.wrong.byKind).sort((a, b) => b[1] - a[1]).map(([kind, n]) => ({ kind, n }))),
    '',
    ...(t.wrong.total === 0 ? [] : [`By the asking tenant's credential style: ${top(t.wrong.byStyle)}.`, '']),
    ...evidenceLines(t.wrong.list, 25),
    ...(t.wrong.list.length > 25 ? [`- … ${t.wrong.list.length - 25} more listed in soak.json (${t.wrong.total} in all).`] : []),
    '',
    '## Failures caused by Reprise',
    '',
    t.failures.total === 0 ? 'None.' : table(Object.entries(t.failures.byKind).sort((a, b) => b[1] - a[1]).map(([kind, n]) => ({ kind, n }))),
    '',
    ...(t.failures.total === 0 ? [] : [`By the asking tenant's credential style: ${top(t.failures.byStyle)}.`, '']),
    ...evidenceLines(t.failures.list, 25),
    ...(t.failures.list.length > 25 ? [`- … ${t.failures.list.length - 25} more listed in soak.json (${t.failures.total} in all).`] : []),
    '',
    '## Redis restarts',
    '',
    table(
      d.restarts!.map((r, i) => {
        const w = windows(d.restarts!)[i]!;
        const down = outcomesIn(t.timeline, w.from, w.up);
        const after = outcomesIn(t.timeline, w.up, w.until);
        const lastError = Math.max(-1, ...Object.entries(t.timeline).filter(([s, c]) => Number(s) >= w.from && Number(s) < w.until && errorsOf(c) > 0).map(([s]) => Number(s)));
        const seen = d.health!.filter((h) => h.t >= r.killedAt - 1 && h.t < w.until).map((h) => `+${h.t}: ${h.store}`);
        return {
          '#': i + 1,
          'down (s after start)': `${r.killedAt} → ${r.restartedAt}`,
          'ERROR while down': `${errorsOf(down)} of ${Object.values(down).reduce((a, b) => a + b, 0)}`,
          'ERROR after restart (to +N s)': `${errorsOf(after)} (+${w.until})`,
          'last ERROR sent': lastError < 0 ? '–' : `in second +${lastError} (restart at +${r.restartedAt})`,
          'cache faults counted': `${sumFaults(r.statsBefore)} → ${sumFaults(r.statsLater?.stats)}`,
          'entries before / at restart / later': `${r.statsBefore?.entries ?? '–'} / ${r.statsAtRestart?.entries ?? '–'} / ${r.statsLater?.stats?.entries ?? '–'}`,
          '/healthz store': seen.join('; ') || '(no change)',
        };
      }),
    ),
    '',
    `ERROR responses outside these windows: ${errorsOf(t.outcomes) - windows(d.restarts!).reduce((a, w) => a + errorsOf(outcomesIn(t.timeline, w.from, w.until)), 0)} ` +
      `(a request's second is the one it was sent in). Outcomes while down: ${windows(d.restarts!).map((w, i) => `#${i + 1}: ${top(outcomesIn(t.timeline, w.from, w.up), 6)}`).join('; ')}.`,
    '',
    '## Memory',
    '',
    mem
      ? `Reprise's RSS (VmRSS from /proc/<pid>/status) after the ${d.warmup} s warm-up: ${f1(mem.startMiB)} MiB at +${mem.startT} s; at the end ${f1(mem.endMiB)} MiB at +${mem.endT} s; peak ${f1(mem.peakMiB)} MiB; ` +
        `growth ${f1(mem.growthMiB)} MiB (${(100 * mem.growthShare).toFixed(1)}%), trend ${mem.slopeMiBPerMin.toFixed(2)} MiB/min (least squares). "Flat" means the end is within ${100 * FLAT_SHARE}% of the start; "grew", more than that above it.`
      : 'No samples (no /proc?).',
    '',
    table(d.samples!.filter((_, i, a) => i % Math.max(1, Math.ceil(a.length / 14)) === 0 || i === a.length - 1).map((s) => ({ 's after start': s.t, 'RSS MiB': f1(s.rssMiB), entries: s.entries ?? '–', stored: s.stored ?? '–', coalesced: s.coalesced ?? '–', 'cache faults': sumFaults(s) }))),
    '',
    '## What Reprise logged',
    '',
    Object.keys(d.notable!).length === 0
      ? 'No warnings or errors.'
      : table(Object.entries(d.notable!).sort((a, b) => b[1].n - a[1].n).map(([k, v]) => ({ line: k, n: v.n, first: `+${((v.first - d.startAt!) / 1000).toFixed(1)} s`, last: `+${((v.last - d.startAt!) / 1000).toFixed(1)} s` }))),
    '',
    `Request lines by status and cache status: ${top(Object.fromEntries(Object.entries(d.logs!).filter(([k]) => k.startsWith('request ') && !k.startsWith('request /'))), 14)}.`,
    '',
    '## Command',
    '',
    '```',
    d.command!,
    '```',
    '',
    `Reprise ran as \`${d.repriseCommand}\`${d.code ? `, at commit ${d.code.head}${d.code.modified.length ? ` with ${d.code.modified.length} files under src/ changed in the working tree (${d.code.modified.join(', ')})` : ''}` : ''}.`,
  );
  written.push(writeSummary('soak', lines.join('\n')));
  return written;
}
