/**
 * @module bench/soak/traffic: the soak's clients, run as their own process: `node --import tsx
 * bench/soak/traffic.ts spec.json`. From `startAt` for `seconds`, `clients` loops each send a request, judge the
 * response (bench/soak/verdict.ts), pause a little and go again; some turns send a burst of identical requests at
 * once (so that some join another's flight). One request in ten hangs up early. After the run it asks the fake
 * upstream what became of every call a HIT's answer came from, and of every call a failure names, and prints one
 * JSON line: outcomes, wrong responses, Reprise-caused failures, and a per-second timeline.
 */
import { readFileSync } from 'node:fs';
import { percentile } from '../lib/stats.js';
import { send, target, type AbortPlan, type Sent } from './client.js';
import { ALL_TENANTS, GROUPS, SCOPES, pick, questionId, rng, scopeId, type CredentialStyle } from './pool.js';
import { contentOf, judge, type Ask, type Verdict } from './verdict.js';

export interface TrafficSpec {
  /** Reprise's base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** the fake upstream's control URL (…/soak) */
  control: string;
  /** ms since epoch to start at, and seconds to run */
  startAt: number;
  seconds: number;
  clients: number;
  seed: number;
  styles: CredentialStyle[];
  /** @default 0.1 */
  abortRate: number;
  timeoutMs: number;
}

/** One wrong response or failure, with what shows it. */
export interface Evidence {
  t: number;
  kind: string;
  detail: string;
  tenant: string;
  style: CredentialStyle;
  question: string;
  scope: string;
  stream: boolean;
  cacheControl: string;
  burst: boolean;
  status?: number;
  cache: string;
  call?: string;
  headers: Record<string, string>;
  /** the answer text the client assembled, and the last bytes of the body as received */
  content: string;
  bodyTail: string;
  /** the fake upstream's record of the call, filled in after the run */
  upstream?: unknown;
  /** clients that received this call's head as its leader (not coalesced) and then hung up, filled in after the run */
  leaderHungUp?: Array<{ t: number; when: string; cache: string }>;
}

/** Wrong responses, or failures: how many, by kind and by the asking tenant's credential style, and the evidence. */
export interface Found {
  total: number;
  byKind: Record<string, number>;
  byStyle: Record<string, number>;
  list: Evidence[];
}

export interface TrafficResult {
  requests: number;
  outcomes: Record<string, number>;
  /** outcome → cache status → count */
  byCache: Record<string, Record<string, number>>;
  latencyMs: Record<string, { n: number; p50: number; p99: number; max: number }>;
  wrong: Found;
  failures: Found;
  /** second since startAt → outcome → count */
  timeline: Record<number, Record<string, number>>;
  /** hits checked against the upstream's record of the call their answer came from */
  hitCallsChecked: number;
  /** requests planned to hang up early, and those that did (the rest had their whole answer first) */
  aborts: { planned: number; happened: number };
  tenants: string[];
}

/** evidence kept per kind, and in all */
const MAX_PER_KIND = 12;
const MAX_LISTED = 120;
const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as TrafficSpec;
const tenants = ALL_TENANTS.filter((t) => spec.styles.includes(t.style));
const rand = rng(spec.seed);
const tgt = target(spec.url, spec.clients * 3);
const end = spec.startAt + spec.seconds * 1000;

const r: TrafficResult = {
  requests: 0, outcomes: {}, byCache: {}, latencyMs: {}, wrong: { total: 0, byKind: {}, byStyle: {}, list: [] }, failures: { total: 0, byKind: {}, byStyle: {}, list: [] },
  timeline: {}, hitCallsChecked: 0, aborts: { planned: 0, happened: 0 }, tenants: tenants.map((t) => `${t.credential} (${t.style})`),
};
const latencies = new Map<string, number[]>();
/** upstream call id → the clients that hung up on a response carrying it without having joined (its leader) */
const hungUp = new Map<string, Array<{ t: number; when: string; cache: string }>>();
/** upstream call id → the first hit served from it, to judge once the upstream says how the call ended */
const hitCalls = new Map<string, { ask: Ask; sent: Sent; verdict: Verdict; hits: number }>();
const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
/** Kinds without the ids that differ per request, so like counts with like. */
const kindOf = (detail: string) => detail.replace(/\([^)]*\)/g, '').replace(/\b(u\d+|[0-9a-f]{10})\b/g, '…').replace(/\d+ (bytes|ms)/g, 'N $1').replace(/\s+/g, ' ').trim().slice(0, 140);

function evidence(ask: Ask, s: Sent, v: Verdict, detail: string): Evidence {
  return {
    t: (s.at - spec.startAt) / 1000, kind: kindOf(detail), detail, tenant: ask.tenant.credential, style: ask.tenant.style, question: ask.text, scope: `${ask.scope.model} / ${ask.scope.system.slice(0, 24)}…`,
    stream: ask.stream, cacheControl: ask.cache, burst: ask.burst, ...(s.status !== undefined && { status: s.status }), cache: v.cache, ...(v.call && { call: v.call }),
    headers: Object.fromEntries(Object.entries(s.headers).filter(([k]) => k.startsWith('x-cache') || k.startsWith('x-soak') || k === 'content-type')),
    content: contentOf(s).slice(0, 400),
    bodyTail: s.body.slice(-240),
  };
}

function add(to: Found, e: Evidence): void {
  to.total++;
  bump(to.byKind, e.kind);
  bump(to.byStyle, e.style);
  if (to.byKind[e.kind]! <= MAX_PER_KIND && to.list.length < MAX_LISTED) to.list.push(e);
}

function record(ask: Ask, s: Sent, v: Verdict): void {
  r.requests++;
  bump(r.outcomes, v.outcome);
  bump((r.byCache[v.outcome] ??= {}), v.cache);
  bump((r.timeline[Math.floor((s.at - spec.startAt) / 1000)] ??= {}), v.outcome);
  let l = latencies.get(v.outcome);
  if (!l) latencies.set(v.outcome, (l = []));
  l.push(s.ms);
  if (s.abortedByUs && v.call && s.headers['x-cache-reason'] !== 'coalesced') {
    let l = hungUp.get(v.call);
    if (!l) hungUp.set(v.call, (l = []));
    l.push({ t: (s.at - spec.startAt) / 1000, when: s.abortedByUs, cache: v.cache });
  }
  if (v.wrong) add(r.wrong, evidence(ask, s, v, v.wrong));
  if (v.failure) add(r.failures, evidence(ask, s, v, v.failure));
  if (v.hitCall && !v.wrong) {
    const seen = hitCalls.get(v.hitCall);
    if (seen) seen.hits++;
    else hitCalls.set(v.hitCall, { ask, sent: s, verdict: v, hits: 1 });
  }
}

/** What to ask: a tenant, a scope, a question (its first text most often), and how. */
function nextAsk(burst: boolean): Ask {
  const tenant = pick(rand, tenants);
  const scope = pick(rand, SCOPES);
  const group = Math.floor(rand() * GROUPS.length);
  const variant = rand() < 0.6 ? 0 : 1 + Math.floor(rand() * (GROUPS[group]!.length - 1));
  const text = GROUPS[group]![variant]!;
  const stream = rand() < 0.5;
  const c = rand();
  const cache = c < 0.08 ? 'no-store' : c < 0.11 ? 'no-cache' : 'default';
  return {
    tenant, scope, scopeId: scopeId(scope.model, scope.system), group, variant, text, qid: questionId(text), stream, usage: stream && rand() < 0.2, cache,
    // A quarter are stored for a few seconds only, so misses (and their faults) keep coming after the pool is cached.
    ...(cache === 'default' && rand() < 0.25 && { ttl: 2 + Math.floor(rand() * 6) }),
    burst,
  };
}

function abortPlan(): AbortPlan {
  if (rand() >= spec.abortRate) return { at: 'none' };
  const r = rand();
  return r < 0.3 ? { at: 'before-head', afterMs: 0 } : r < 0.5 ? { at: 'before-head', afterMs: 1 + Math.floor(rand() * 40) } : { at: 'mid-body', afterBytes: 1 + Math.floor(rand() * 900) };
}

async function one(ask: Ask): Promise<void> {
  const headers: Record<string, string> = { [ask.tenant.header[0]]: ask.tenant.header[1] };
  if (ask.cache !== 'default') headers['cache-control'] = ask.cache;
  if (ask.ttl !== undefined) headers['x-cache-ttl'] = String(ask.ttl);
  const body = JSON.stringify({
    model: ask.scope.model,
    messages: [{ role: 'system', content: ask.scope.system }, { role: 'user', content: ask.text }],
    ...(ask.stream && { stream: true }),
    ...(ask.usage && { stream_options: { include_usage: true } }),
  });
  const plan = abortPlan();
  for (let attempt = 0; ; attempt++) {
    const s = await send(tgt, '/v1/chat/completions', headers, body, plan, spec.timeoutMs);
    const v = judge(ask, s, attempt);
    if (plan.at !== 'none' && !v.retry) {
      r.aborts.planned++;
      if (s.abortedByUs) r.aborts.happened++;
    }
    record(ask, s, v);
    if (!v.retry) return;
  }
}

async function loop(): Promise<void> {
  while (Date.now() < end) {
    // One turn in eight is a burst of three requests at once: mostly the same request from one tenant's callers
    // (they may share one upstream call), else the same question in the same scope from three tenants (they must not).
    if (rand() < 0.125) {
      const ask = nextAsk(true);
      const others = rand() < 0.35 ? tenants.filter((t) => t !== ask.tenant).sort(() => rand() - 0.5).slice(0, 2) : [ask.tenant, ask.tenant];
      await Promise.all([one(ask), ...others.map((tenant) => one({ ...ask, tenant }))]);
    } else {
      await one(nextAsk(false));
    }
    await new Promise((res) => setTimeout(res, 10 + rand() * 50));
  }
}

async function upstreamRecords(ids: string[]): Promise<Record<string, { end: string; fate: string } | null>> {
  const out: Record<string, { end: string; fate: string } | null> = {};
  for (let i = 0; i < ids.length; i += 2000) {
    const res = await fetch(`${spec.control}/calls`, { method: 'POST', body: JSON.stringify(ids.slice(i, i + 2000)) });
    Object.assign(out, await res.json());
  }
  return out;
}

await new Promise((res) => setTimeout(res, Math.max(0, spec.startAt - Date.now())));
await Promise.all(Array.from({ length: spec.clients }, loop));

// Every HIT's answer must come from an upstream call that ended cleanly.
const records = await upstreamRecords([...hitCalls.keys()]);
r.hitCallsChecked = hitCalls.size;
for (const [id, h] of hitCalls) {
  const rec = records[id];
  if (rec && rec.end === 'done' && rec.fate !== 'error') continue;
  const detail = rec
    ? `a HIT served an answer stored from an upstream call that ended "${rec.end}" (fate ${rec.fate}; call ${id}, ${h.hits} hits)`
    : `a HIT served an answer from a call the upstream never made (call ${id}, ${h.hits} hits)`;
  const e = evidence(h.ask, h.sent, h.verdict, detail);
  e.upstream = rec;
  add(r.wrong, e);
}
// What the upstream did with the calls the failures and wrong responses name.
const named = [...r.failures.list, ...r.wrong.list].filter((e) => e.call && e.upstream === undefined);
const namedRecords = await upstreamRecords([...new Set(named.map((e) => e.call!))]);
for (const e of named) {
  e.upstream = namedRecords[e.call!];
  const h = hungUp.get(e.call!);
  if (h) e.leaderHungUp = h;
}

for (const [k, l] of latencies) r.latencyMs[k] = { n: l.length, p50: percentile(l, 50), p99: percentile(l, 99), max: percentile(l, 100) };
process.stdout.write(`${JSON.stringify(r)}\n`);
process.exit(0);
