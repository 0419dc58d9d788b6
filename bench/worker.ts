/**
 * @module bench/worker: what the Cloudflare Worker build (src/worker.ts) costs under `wrangler dev --env offline`
 * (workerd, locally), against the direct upstream and against the Node server, all measured in the same run.
 *
 *   npx tsx bench/worker.ts [--rounds N] [--warmup N] [--wrangler-log-level LEVEL]
 *
 * `--rounds` timed rounds (default 1500: about 80 s on a 2-core machine, start-up included), `--warmup` untimed
 * rounds first (default 30). Under bench/run.ts, BENCH_QUICK=1 means 200 rounds, and the timed rounds stop early
 * enough to end by BENCH_DEADLINE (listed in the result's `coverage`). `--wrangler-log-level` runs wrangler at another
 * --log-level than warn (info is its default: a line per request), a side experiment: it prints its tables and
 * writes nothing.
 *
 * Three servers, each in its own process tree, and this process only the client:
 * - the tests' fake upstream (test/fixtures/fake-upstream.ts) and the Node Reprise (src/node/server.ts startReprise:
 *   memory store, the bundled model in one worker thread), both started as bench/apis.ts starts them (its `--serve`
 *   modes);
 * - `wrangler dev --env offline` (test/helpers/wrangler-dev.ts, as the smoke test in test/worker-dev starts it): KV and the stats object
 *   simulated locally, no Workers AI and no Vectorize, so the Worker is exact-only. Its UPSTREAM_URL is the fake.
 *   Every request to wrangler's port passes through wrangler's proxy worker (a workerd of its own) before it reaches
 *   the Worker's workerd; the same Worker is also asked on its own socket (`inner`, found by the helper), so that
 *   the table shows what that dev-only hop costs. Without it (not Linux, another wrangler) those rows are left out
 *   and the result's `coverage` says so.
 *   Reprise logs nothing on either runtime (LOG_LEVEL silent, as the Node server here), and wrangler runs with
 *   --log-level warn: at its default it posts a line per request from workerd to its Node process and prints it,
 *   which is the dev harness's cost, not Reprise's.
 *
 * Chat completions only, JSON and SSE. Every round sends, in a new seeded order:
 * - the fixed question of each form straight to the upstream (direct), through the Worker (an exact hit; also past
 *   the proxy) and through the Node server (an exact hit): the same bytes to all;
 * - a fresh question of each form (new every round, so never cached) through the Worker (a miss: upstream, then
 *   stored in KV) and the same body straight to the upstream, so Reprise's added cost on a miss is worker miss minus
 *   that direct; and another fresh question past the proxy (its body differs in one five-letter word).
 * One keep-alive connection per server (undici), one request at a time; a request is timed from just before it is
 * written to the end of its body. Every hit must be a 200 with `x-cache-status: HIT`, `x-cache-match: exact` and the
 * answer that target's miss passed on; every miss a MISS with the upstream's answer to its own question; every
 * direct reply the upstream's answer. Anything else fails the bench.
 *
 * Ratios are to the direct series of the same form and body measured in the same rounds: p50 / p50, p99 / p99, and
 * the median over rounds of each round's pair. Absolute times on a shared machine mean little alone.
 *
 * Writes bench/results/worker.md and bench/results/worker.json.
 */
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { startScript } from './latency/children.js';
import { machine, percentile, summarize, table, writeResult, writeSummary } from './lib/stats.js';
import { timedPost, type Reply } from './lib/client.js';
import { startWranglerDev, wranglerVersions } from '../test/helpers/wrangler-dev.js';
import { rng } from '../test/helpers/vectors.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string' },
    warmup: { type: 'string', default: '30' },
    'wrangler-log-level': { type: 'string' },
  },
});

// bench/run.ts passes BENCH_QUICK=1 for smoke tests and BENCH_DEADLINE (epoch ms) for its time budget.
const QUICK = process.env.BENCH_QUICK === '1';
const DEADLINE = Number(process.env.BENCH_DEADLINE ?? Infinity);
/** What is left to do after the last timed round: stop three servers and write the results. */
const WIND_DOWN_MS = 10_000;

const LOG_LEVELS = ['debug', 'info', 'log', 'warn', 'error', 'none'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];
const WRANGLER_LOG_LEVEL = (values['wrangler-log-level'] ?? 'warn') as LogLevel;
if (!LOG_LEVELS.includes(WRANGLER_LOG_LEVEL)) throw new Error(`--wrangler-log-level must be one of ${LOG_LEVELS.join(', ')}`);
/** A run at another wrangler log level is a side experiment: it prints, and leaves the standard run's results alone. */
const SIDE = values['wrangler-log-level'] !== undefined && WRANGLER_LOG_LEVEL !== 'warn';

// ---------------------------------------------------------------------------
// the bodies and what their answers must be

type Form = 'json' | 'sse';
/** `inner`: the same Worker on its own workerd socket, past wrangler's proxy worker */
type Who = 'direct' | 'worker' | 'inner' | 'node';

const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench-worker' };
const PATH = '/v1/chat/completions';

// The JSON and SSE questions differ in model: stream is no part of the key (a hit answers in the form asked), so
// with one model the SSE body would hit the JSON body's entry and no SSE miss would ever be stored.
const MODEL: Record<Form, string> = { json: 'gpt-4o-mini', sse: 'gpt-4.1-mini' };
const FIXED: Record<Form, string> = {
  json: 'In two sentences, what does a semantic cache in front of an LLM API save? (bench/worker, JSON)',
  sse: 'In two sentences, what does a semantic cache in front of an LLM API save? (bench/worker, SSE)',
};
/** Per run, so that a miss's question cannot be in any cache whatever ran before. */
const RUN = randomBytes(4).toString('hex');
/** A new question a round; the Worker's two doors get different ones (tags of one length), or the second would hit. */
const freshQuestion = (form: Form, round: number, tag: 'proxy' | 'inner') =>
  `What is the capital of country number ${round}? (bench/worker ${RUN}, ${form} miss, ${tag})`;

const bodyOf = (form: Form, question: string) =>
  JSON.stringify({ model: MODEL[form], messages: [{ role: 'user', content: question }], stream: form === 'sse' });

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The fake upstream's answer to `question` (fakeAnswer: "Answer #k to: <question>", k its call count). */
const upstreamAnswer = (question: string) => new RegExp(`^Answer #\\d+ to: ${escapeRe(question)}$`);

/** The answer text of a chat completion, JSON or SSE (the deltas joined); throws if the body is not whole. */
function answerOf(form: Form, text: string): string {
  if (form === 'json') {
    const body = JSON.parse(text) as { choices?: Array<{ message?: { content?: unknown }; finish_reason?: unknown }> };
    const choice = body.choices?.[0];
    if (typeof choice?.message?.content !== 'string' || typeof choice.finish_reason !== 'string') throw new Error('no answer or finish_reason in the JSON');
    return choice.message.content;
  }
  const data = text
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).trim());
  if (data.at(-1) !== '[DONE]') throw new Error('the stream does not end with data: [DONE]');
  let answer = '';
  for (const d of data.slice(0, -1)) {
    const chunk = JSON.parse(d) as { choices?: Array<{ delta?: { content?: unknown } }> };
    const content = chunk.choices?.[0]?.delta?.content;
    if (typeof content === 'string') answer += content;
  }
  return answer;
}

// ---------------------------------------------------------------------------
// the client

const send = (dispatcher: Agent, base: string, body: string): Promise<Reply> => timedPost(dispatcher, `${base}${PATH}`, HEADERS, body);

/** A 200 in the form asked; its answer. */
function okAnswer(what: string, form: Form, r: Reply): string {
  const fail = (why: string): never => {
    throw new Error(`${what}: ${why}\n${r.text.slice(0, 600)}`);
  };
  if (r.status !== 200) fail(`HTTP ${r.status}`);
  if (form === 'json' && !r.contentType.startsWith('application/json')) fail(`content-type ${r.contentType}, not JSON`);
  if (form === 'sse' && !r.contentType.startsWith('text/event-stream')) fail(`content-type ${r.contentType}, not SSE`);
  try {
    return answerOf(form, r.text);
  } catch (err) {
    return fail((err as Error).message);
  }
}

function expectStatus(what: string, r: Reply, cache: 'HIT' | 'MISS'): void {
  if (r.cache !== cache) throw new Error(`${what}: x-cache-status ${r.cache || '(none)'}, not ${cache}\n${r.text.slice(0, 600)}`);
  if (cache === 'HIT' && r.match !== 'exact') throw new Error(`${what}: a ${r.match || '(unnamed)'} hit, not exact`);
}

function expectUpstreamAnswer(what: string, answer: string, question: string): void {
  if (!upstreamAnswer(question).test(answer)) throw new Error(`${what}: answer ${JSON.stringify(answer.slice(0, 200))} is not the upstream's to ${JSON.stringify(question)}`);
}

/** What a target's stored entry answers: its miss's answer, once a repeat is an exact HIT with that answer. */
interface Warmed {
  answer: Record<Form, string>;
  /** the JSON hit equals the JSON its miss passed on */
  sameAsMiss: boolean;
  /** the miss, the first exact hit, and how many repeats it took (1: the first repeat after the miss hit) */
  ms: Record<Form, { miss: number; firstHit: number; tries: number }>;
}

async function warm(who: string, agent: Agent, base: string): Promise<Warmed> {
  const answer = {} as Record<Form, string>;
  const ms = {} as Warmed['ms'];
  let sameAsMiss = false;
  for (const form of ['json', 'sse'] as const) {
    const body = bodyOf(form, FIXED[form]);
    const miss = await send(agent, base, body);
    const what = `${who} ${form} (the miss that stores it)`;
    answer[form] = okAnswer(what, form, miss);
    expectStatus(what, miss, 'MISS');
    expectUpstreamAnswer(what, answer[form], FIXED[form]);
    // An SSE answer is stored once its stream has ended, a KV write in waitUntil after the response: wait for it.
    let hit: Reply | undefined;
    let tries = 0;
    for (; tries < 100 && !hit; tries++) {
      const r = await send(agent, base, body);
      const got = okAnswer(`${who} ${form} (warm-up)`, form, r);
      if (r.cache === 'HIT') {
        expectStatus(`${who} ${form} (warm-up)`, r, 'HIT');
        if (got !== answer[form]) throw new Error(`${who} ${form}: the first hit answers ${JSON.stringify(got)}, its miss ${JSON.stringify(answer[form])}`);
        hit = r;
      } else await sleep(20);
    }
    if (!hit) throw new Error(`${who} ${form}: no exact HIT within 100 tries after the miss`);
    if (form === 'json') sameAsMiss = isDeepStrictEqual(JSON.parse(hit.text), JSON.parse(miss.text));
    ms[form] = { miss: round3(miss.ms), firstHit: round3(hit.ms), tries };
  }
  return { answer, sameAsMiss, ms };
}

/** A Fisher-Yates shuffle of a copy. */
function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

// ---------------------------------------------------------------------------
// the series

/** One kind of request, sent once a round. `fresh`: the round's new question, else the fixed one. */
interface Series {
  id: string;
  who: Who;
  form: Form;
  fresh: boolean;
  /** what Reprise must say: undefined for the direct series */
  cache?: 'HIT' | 'MISS';
}

const ALL_SERIES: Series[] = (['json', 'sse'] as const).flatMap((form): Series[] => [
  { id: `direct ${form}`, who: 'direct', form, fresh: false },
  { id: `worker hit ${form}`, who: 'worker', form, fresh: false, cache: 'HIT' },
  { id: `inner hit ${form}`, who: 'inner', form, fresh: false, cache: 'HIT' },
  { id: `node hit ${form}`, who: 'node', form, fresh: false, cache: 'HIT' },
  { id: `direct fresh ${form}`, who: 'direct', form, fresh: true },
  { id: `worker miss ${form}`, who: 'worker', form, fresh: true, cache: 'MISS' },
  { id: `inner miss ${form}`, who: 'inner', form, fresh: true, cache: 'MISS' },
]);

type Summary = ReturnType<typeof summarize> & { p90: number; min: number };
const describe = (ms: number[]): Summary => ({ ...summarize(ms), p90: percentile(ms, 90), min: Math.min(...ms) });

interface Row {
  series: string;
  who: Who;
  form: Form;
  case: 'direct' | 'exact hit' | 'miss';
  /** ms: n, mean, p50, p99 (bench/lib/stats.ts summarize), plus p90 and the fastest */
  ms: Summary;
  /** the direct series it is compared with, and the ratios to it; absent for the direct series */
  vs?: {
    direct: string;
    ratioP50: number;
    ratioP99: number;
    /** the median, over rounds, of that round's this / direct */
    pairedRatio: number;
    /** ms: p50 - direct p50, and the median over rounds of that round's this - direct (a miss's added cost) */
    addedP50: number;
    pairedAdded: number;
  };
  /** the Worker's hits: its p50 / the Node server's p50 for the same bodies */
  overNode?: number;
  bytes: number;
}

const NAME: Record<Who, string> = {
  direct: 'direct upstream',
  worker: 'Worker (wrangler dev)',
  inner: "Worker, past wrangler's proxy",
  node: 'Node server',
};

async function main(): Promise<void> {
  const rounds = Number.parseInt(values.rounds ?? (QUICK ? '200' : '1500'), 10);
  const warmup = Number.parseInt(values.warmup!, 10);
  if (!(rounds >= 1) || !(warmup >= 0)) throw new Error('--rounds must be >= 1 and --warmup >= 0');

  const started = Date.now();
  const loadBefore = loadavg();
  const upstream = await startScript<{ url: string; origin: string }>('bench/apis.ts', ['--serve', 'upstream']);
  let nodeStartMs = performance.now();
  const node = await startScript<{ url: string }>('bench/apis.ts', ['--serve', 'reprise', '--upstream', upstream.info.url], { timeoutMs: 120_000 });
  nodeStartMs = performance.now() - nodeStartMs;
  const worker = await startWranglerDev({
    env: 'offline',
    vars: {
      TENANT_SECRET: `bench-worker-secret-${RUN}-0123456789`,
      UPSTREAM_URL: upstream.info.url,
      ANTHROPIC_UPSTREAM_URL: upstream.info.url,
      LOG_LEVEL: 'silent',
    },
    logLevel: WRANGLER_LOG_LEVEL,
  }).catch(async (err: unknown) => {
    await node.stop();
    await upstream.stop();
    throw err;
  });
  // One keep-alive connection to each, as one client of an LLM API would hold.
  const agent = () => new Agent({ connections: 1, keepAliveTimeout: 60_000 });
  const agents: Record<Who, Agent> = { direct: agent(), worker: agent(), inner: agent(), node: agent() };
  const coverage: string[] = [];
  try {
    const health = worker.health as Record<string, unknown>;
    if (health.cache !== 'exact-only' || health.entries !== 'kv') throw new Error(`the offline Worker's /healthz is not exact-only over KV: ${JSON.stringify(health)}`);
    const innerUrl = await worker.innerUrl();
    if (!innerUrl) coverage.push("worker: the Worker's own workerd socket was not found (Linux /proc, wrangler 4's two workerd processes), so the rows past wrangler's proxy are left out.");
    const series = innerUrl ? ALL_SERIES : ALL_SERIES.filter((s) => s.who !== 'inner');
    const bases: Record<Who, string> = { direct: upstream.info.origin, worker: worker.url, inner: innerUrl ?? '', node: node.info.url };

    const storedAt = performance.now();
    const warmed = { worker: await warm('worker', agents.worker, bases.worker), node: await warm('node', agents.node, bases.node) };
    for (const [who, w] of Object.entries(warmed)) if (!w.sameAsMiss) throw new Error(`${who}: the JSON hit is not the JSON its miss passed on`);
    // The Worker's own socket reaches the same isolate and KV: its first request for the fixed bodies is a hit already.
    if (innerUrl) {
      for (const form of ['json', 'sse'] as const) {
        const r = await send(agents.inner, innerUrl, bodyOf(form, FIXED[form]));
        const what = `inner ${form} (the first request past the proxy)`;
        const answer = okAnswer(what, form, r);
        expectStatus(what, r, 'HIT');
        if (answer !== warmed.worker.answer[form]) throw new Error(`${what}: answered ${JSON.stringify(answer)}, the Worker stored ${JSON.stringify(warmed.worker.answer[form])}`);
      }
    }
    const stored = (who: Who) => warmed[who === 'node' ? 'node' : 'worker'].answer;

    const times = new Map(series.map((s) => [s, [] as number[]]));
    const bytes = new Map(series.map((s) => [s, 0]));
    const random = rng(0x5eed);
    const timedStart = performance.now();
    let timed = 0;
    for (let round = 0; round < warmup + rounds; round++) {
      if (Date.now() > DEADLINE - WIND_DOWN_MS) {
        coverage.push(`worker: ${timed} of ${rounds} timed rounds, stopped to end by the bench budget (BENCH_DEADLINE).`);
        break;
      }
      // Every series in a new order each round (seeded), so none always follows the same neighbour, and a miss's
      // KV write (waitUntil, after its response) lands on whichever request comes next, not always the same one.
      for (const s of shuffled(series, random)) {
        const question = s.fresh ? freshQuestion(s.form, round, s.who === 'inner' ? 'inner' : 'proxy') : FIXED[s.form];
        const r = await send(agents[s.who], bases[s.who], bodyOf(s.form, question));
        const what = `${s.id}, round ${round}`;
        const answer = okAnswer(what, s.form, r);
        if (s.cache) expectStatus(what, r, s.cache);
        if (s.cache === 'HIT') {
          const want = stored(s.who)[s.form];
          if (answer !== want) throw new Error(`${what}: answered ${JSON.stringify(answer)}, the stored answer is ${JSON.stringify(want)}`);
        } else expectUpstreamAnswer(what, answer, question);
        if (round < warmup) continue;
        times.get(s)!.push(r.ms);
        bytes.set(s, Buffer.byteLength(r.text));
      }
      if (round >= warmup) timed++;
    }
    const timedSeconds = (performance.now() - timedStart) / 1000;
    // The isolate keeps an entry it read or wrote for 60 s (store/kv-vectorize.ts memorySeconds); past that a hit
    // reads KV once and keeps it again.
    const hitSpanSeconds = (performance.now() - storedAt) / 1000;
    if (timed === 0) throw new Error('no timed round fitted in the bench budget');

    const rows: Row[] = series.map((s) => {
      const t = times.get(s)!;
      const ms = describe(t);
      const row: Row = { series: s.id, who: s.who, form: s.form, case: s.cache === 'HIT' ? 'exact hit' : s.cache === 'MISS' ? 'miss' : 'direct', ms, bytes: bytes.get(s)! };
      if (s.who !== 'direct') {
        // The direct series of the same form and bodies, in the same rounds.
        const b = series.find((d) => d.who === 'direct' && d.form === s.form && d.fresh === s.fresh)!;
        const d = times.get(b)!;
        const dms = describe(d);
        row.vs = {
          direct: b.id,
          ratioP50: ms.p50 / dms.p50,
          ratioP99: ms.p99 / dms.p99,
          pairedRatio: percentile(t.map((v, i) => v / d[i]!), 50),
          addedP50: round3(ms.p50 - dms.p50),
          pairedAdded: round3(percentile(t.map((v, i) => v - d[i]!), 50)),
        };
      }
      if ((s.who === 'worker' || s.who === 'inner') && s.cache === 'HIT') {
        const n = series.find((o) => o.who === 'node' && o.form === s.form && o.cache === 'HIT')!;
        row.overNode = ms.p50 / describe(times.get(n)!).p50;
      }
      return row;
    });

    const loadAfter = loadavg();
    const versions = wranglerVersions();
    const fmt = (v: number) => v.toFixed(v < 10 ? 2 : 1);
    const pair = (a: number, b: number, f: (v: number) => string) => `${f(a)} / ${f(b)}`;
    const ratio = (v: number) => v.toFixed(2);
    const hitTable = (['json', 'sse'] as const).flatMap((f) =>
      rows
        .filter((r) => r.form === f && (r.case === 'exact hit' || r.series === `direct ${f}`))
        .map((r) => ({
          form: f.toUpperCase(),
          target: NAME[r.who],
          case: r.case,
          'p50 / p99 ms': pair(r.ms.p50, r.ms.p99, fmt),
          'ratio to direct p50 / p99': r.vs ? pair(r.vs.ratioP50, r.vs.ratioP99, ratio) : '1',
          'paired ratio p50': r.vs ? ratio(r.vs.pairedRatio) : '1',
          'Worker / Node p50': r.overNode !== undefined ? ratio(r.overNode) : '',
          bytes: r.bytes,
        })),
    );
    const missTable = (['json', 'sse'] as const).flatMap((f) => {
      const d = rows.find((r) => r.series === `direct fresh ${f}`)!;
      return rows
        .filter((r) => r.form === f && r.case === 'miss')
        .map((m) => ({
          form: f.toUpperCase(),
          target: NAME[m.who],
          'direct (same bodies) p50 / p99 ms': pair(d.ms.p50, d.ms.p99, fmt),
          'miss p50 / p99 ms': pair(m.ms.p50, m.ms.p99, fmt),
          'ratio to direct p50 / p99': pair(m.vs!.ratioP50, m.vs!.ratioP99, ratio),
          'paired ratio p50': ratio(m.vs!.pairedRatio),
          'added ms: p50 − p50 / paired p50': pair(m.vs!.addedP50, m.vs!.pairedAdded, fmt),
        }));
    });
    const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(', ');
    const m = machine();
    const md = [
      '# The Worker under wrangler dev (workerd, locally)',
      '',
      `\`npx tsx bench/worker.ts --rounds ${rounds}${SIDE ? ` --wrangler-log-level ${WRANGLER_LOG_LEVEL}` : ''}\`: ${m.date}, ${timed} timed rounds (after ${warmup} untimed), ${series.length} requests per round, ` +
        `${timedSeconds.toFixed(0)} s of requests. Machine: ${m.cpus} × ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}; wrangler ${versions.wrangler}, ` +
        `workerd ${versions.workerd}; load average (1, 5, 15 min) ${load(loadBefore)} before, ${load(loadAfter)} after.`,
      '',
      '**What these numbers are.** src/worker.ts in `wrangler dev --env offline`: workerd on this machine, with KV and the ' +
        "stats Durable Object simulated by Miniflare (SQLite and files in a temporary directory). A request to wrangler's " +
        "port first passes through wrangler's proxy worker, in a workerd process of its own, which hands it to the " +
        "Worker's workerd" +
        (innerUrl
          ? "; the rows past wrangler's proxy ask that second workerd on its own socket (the same isolate and KV), to show what the dev-only hop costs. "
          : ". ") +
        'Without Workers AI or Vectorize the Worker is exact-only. Its exact hits ' +
        "come from the isolate's memory tier (an entry read or written in the last 60 s): " +
        (hitSpanSeconds < 60
          ? `this run's hits all fell within ${hitSpanSeconds.toFixed(0)} s of their entries being stored, so none read KV. `
          : `this run's hits spanned ${hitSpanSeconds.toFixed(0)} s, so about one hit per entry a minute read the local KV. `) +
        "A miss writes its entry to the local KV.",
      '',
      "**What they are not.** Not Cloudflare's network: no client-to-edge round trip, no KV latency (a KV read at a " +
        'location that has not cached the key goes to a central store; a write takes up to a minute to be seen at other ' +
        'locations), no Workers AI embedding on a miss and no Vectorize query (so no semantic hits at all), no cold ' +
        "isolates, and not Cloudflare's CPUs or limits. A local workerd number says how Reprise's own code in the dev " +
        'runtime compares with the Node server on the same machine and the same bytes; it predicts nothing about a ' +
        "deployed Worker's latency.",
      '',
      'Each round sends every series once, in a new seeded order, one request at a time over one keep-alive connection ' +
        'per server; a request is timed from just before it is written to the end of its body. The fake upstream ' +
        '(test/fixtures/fake-upstream.ts), the Node server (memory store, bundled model, one embedding thread) and ' +
        'wrangler dev each run in their own processes; the client is another. Reprise logs nothing on either runtime, and ' +
        `wrangler runs with \`--log-level ${WRANGLER_LOG_LEVEL}\` (at its default, info, it sends and prints a line per request). Every timed hit ` +
        "was `x-cache-status: HIT` (exact) with the answer its miss passed on, every miss a MISS with the upstream's " +
        'answer to its own question, and each JSON hit equals the JSON its miss passed on.',
      '',
      "The upstream does no model work, so its reply is a floor for the HTTP cost, not what a real API costs. Ratios are to " +
        'the direct series of the same bodies in the same rounds (p50 / p50, p99 / p99); the paired ratio is the median of ' +
        "each round's pair, measured a few requests apart. The fake streams SSE one event per write; a hit replays the " +
        'stored answer as one body, hence the byte counts.',
      '',
      '## Exact hits: the same bodies to each',
      '',
      table(hitTable),
      '',
      '## Misses through the Worker: a fresh question every round',
      '',
      'The Worker sends the request to the upstream, passes the answer on as it arrives and stores it in KV (within ' +
        "waitUntil, after the response ends: that write is not in the miss's own time, but it shares the machine with the " +
        'requests after it). The same body is sent straight to the upstream in the same round (past the proxy: a body ' +
        'that differs in one five-letter word); what the miss adds is its time minus that.',
      '',
      table(missTable),
      '',
      `Start-up, one sample each: wrangler dev served /healthz ${(worker.startMs / 1000).toFixed(1)} s after it was spawned (bundling included); ` +
        `the Node server was ready ${(nodeStartMs / 1000).toFixed(1)} s after it was spawned (the bundled model loaded). The Node server's misses are ` +
        'not measured here: it embeds every miss with its model (semantic), which the offline Worker cannot, so the two would not do the same work.',
      '',
      ...(coverage.length ? ['## Skipped in this run', '', ...coverage.map((c) => `- ${c}`), ''] : []),
    ].join('\n');
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    if (SIDE) {
      process.stdout.write(`${md}\n(--wrangler-log-level: nothing written) ${seconds} s\n`);
      return;
    }
    const mdPath = writeSummary('worker', md);
    const jsonPath = writeResult('worker', {
      config: {
        rounds,
        timedRounds: timed,
        warmup,
        requestsPerRound: series.length,
        timedSeconds,
        hitSpanSeconds,
        wallSeconds: (Date.now() - started) / 1000,
        loadBefore,
        loadAfter,
        workerd: versions.workerd,
        wrangler: { version: versions.wrangler, env: 'offline', logLevel: WRANGLER_LOG_LEVEL, vars: ['TENANT_SECRET', 'UPSTREAM_URL', 'ANTHROPIC_UPSTREAM_URL', 'LOG_LEVEL=silent'], inner: innerUrl !== undefined },
      },
      startMs: { wranglerDev: round3(worker.startMs), node: round3(nodeStartMs) },
      workerHealth: health,
      warmed,
      coverage,
      rows,
    });
    process.stdout.write(`${md}\nwrote ${mdPath} and ${jsonPath} in ${seconds} s\n`);
  } catch (err) {
    // wrangler's own output says why the Worker answered as it did (its errors, its warnings).
    process.stderr.write(`wrangler dev output:\n${worker.output().slice(-4000)}\n`);
    throw err;
  } finally {
    for (const a of Object.values(agents)) await a.close();
    await worker.stop();
    await node.stop();
    await upstream.stop();
  }
}

await main();
