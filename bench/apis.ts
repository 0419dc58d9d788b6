/**
 * @module bench/apis: what an exact hit costs on each API Reprise caches, against the direct upstream measured in the
 * same run.
 *
 *   npx tsx bench/apis.ts [--rounds N] [--warmup N] [--pad N]
 *
 * `--rounds` timed rounds (default 1000: about 25 s on a 2-core machine), `--warmup` untimed rounds first (default 30),
 * `--pad` about N characters of filler after every question, so bodies and text answers are long (a side experiment:
 * it prints its table and writes nothing).
 *
 * The fake upstream of the tests (test/fixtures/fake-upstream.ts: chat completions, the Responses API and Anthropic's
 * Messages API, JSON and SSE) and a real Reprise (src/node/server.ts startReprise, memory store, the bundled USE-lite
 * model in one worker thread) each run in their own child process (this file again, with `--serve upstream` or
 * `--serve reprise --upstream URL`), as bench/latency does; this process is only the client, one keep-alive connection
 * per target (undici), one request at a time.
 *
 * Cases: {chat, responses, messages} × {JSON, SSE} × {a text answer, a tool-call answer (`tools` and "the weather in
 * Paris and Rome": two parallel calls)}. Each case's entry is stored by one request (which must be a MISS), then every
 * round times, for every case in turn (in a new seeded order each round), one exact hit through Reprise and then the same body sent straight to the
 * upstream, so drift on a shared machine lands on all of them alike. A request is timed from just before it is
 * written to the end of its body. Every timed Reprise response must say `x-cache-status: HIT`, and every response
 * must be a 200 with the answer it should carry, or the bench fails.
 *
 * The upstream does no model work, so its reply is a floor for the HTTP cost: ratio = hit p50 / direct p50, and < 1
 * means the hit is cheaper than the fake upstream building its own reply. Speed is only ever reported as ratios and
 * percentiles measured side by side: absolute times on a noisy shared machine mean little alone.
 *
 * Writes bench/results/apis.md and bench/results/apis.json.
 */
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { machine, percentile, summarize, table, writeResult, writeSummary } from './lib/stats.js';
import { timedPost, type Reply } from './lib/client.js';
import { rng } from '../test/helpers/vectors.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '30' },
    pad: { type: 'string', default: '0' },
    serve: { type: 'string' },
    upstream: { type: 'string' },
  },
});

// ---------------------------------------------------------------------------
// child modes

/** The tests' fake upstream, in this process; prints `{"url": ".../v1", "origin": "..."}`. */
async function serveUpstream(): Promise<void> {
  const { startFakeUpstream } = await import('../test/fixtures/fake-upstream.js');
  const up = await startFakeUpstream();
  // It records every call; a bench does not read them, so they are dropped now and then to keep its heap steady.
  setInterval(() => (up.calls.length = 0), 1000).unref();
  process.stdout.write(`${JSON.stringify({ url: up.url, origin: up.origin })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

/** A real Reprise in front of `--upstream` (OpenAI and Anthropic alike); prints `{"url": "http://127.0.0.1:PORT"}` once ready. */
async function serveReprise(upstream: string): Promise<void> {
  const { parseConfig } = await import('../src/config.js');
  const { startReprise } = await import('../src/node/server.js');
  const { silentLogger } = await import('../src/observe/logger.js');
  const config = parseConfig(
    {
      port: '0',
      host: '127.0.0.1',
      upstream,
      'anthropic-upstream': upstream,
      'log-level': 'silent',
      // the bundled model (offline), one worker thread: an exact hit never embeds, and the machine has 2 cores
      'embed-model': 'bundled',
      'embed-threads': '1',
    },
    {},
  );
  const running = await startReprise(config, { logger: silentLogger });
  await running.ready;
  process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
  process.on('SIGTERM', () => void running.close().finally(() => process.exit(0)));
}

// ---------------------------------------------------------------------------
// the cases

type Api = 'chat' | 'responses' | 'messages';
type Form = 'json' | 'sse';
type Answer = 'text' | 'tool';

interface Case {
  api: Api;
  form: Form;
  answer: Answer;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const OPENAI_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench-apis' };
const ANTHROPIC_HEADERS = { 'content-type': 'application/json', 'x-api-key': 'sk-ant-bench-apis', 'anthropic-version': '2023-06-01' };

const WEATHER_PARAMS = { type: 'object', properties: { city: { type: 'string', description: 'a city name' } }, required: ['city'] };
const WEATHER_DOC = 'The current weather in a city';

/** `--pad N`: about N characters of filler after each question (the fake's text answer quotes it, so it grows too). */
const PAD = Number.parseInt(values.pad!, 10) || 0;
const filler = (n: number) => (n > 0 ? ` ${'and then some more words '.repeat(Math.ceil(n / 25)).slice(0, n)}` : '');

function makeCase(api: Api, form: Form, answer: Answer): Case {
  // The JSON and SSE cases of an API ask the same question of different models: stream is no part of the key (a hit
  // answers in the form asked), and the texts alone would be a semantic hit on each other. A model is in the scope,
  // so no case's entry can answer another's, and every case's first request is a miss.
  const tag = `(${api}, ${form})`;
  const model = api === 'messages' ? (form === 'json' ? 'claude-sonnet-4-5' : 'claude-haiku-4-5') : form === 'json' ? 'gpt-4o-mini' : 'gpt-4.1-mini';
  const text =
    answer === 'tool'
      ? `What is the weather in Paris and Rome right now? ${tag}`
      : `In two sentences, what does a semantic cache in front of an LLM API save? ${tag}`;
  const question = text + filler(PAD);
  const stream = form === 'sse';
  if (api === 'chat') {
    const tools = [{ type: 'function', function: { name: 'get_weather', description: WEATHER_DOC, parameters: WEATHER_PARAMS } }];
    const body = { model, messages: [{ role: 'user', content: question }], ...(answer === 'tool' && { tools }), stream };
    return { api, form, answer, path: '/v1/chat/completions', headers: OPENAI_HEADERS, body: JSON.stringify(body) };
  }
  if (api === 'responses') {
    const tools = [{ type: 'function', name: 'get_weather', description: WEATHER_DOC, parameters: WEATHER_PARAMS }];
    const body = { model, input: [{ role: 'user', content: question }], ...(answer === 'tool' && { tools }), stream };
    return { api, form, answer, path: '/v1/responses', headers: OPENAI_HEADERS, body: JSON.stringify(body) };
  }
  const tools = [{ name: 'get_weather', description: WEATHER_DOC, input_schema: WEATHER_PARAMS }];
  const body = { model, max_tokens: 256, messages: [{ role: 'user', content: question }], ...(answer === 'tool' && { tools }), stream };
  return { api, form, answer, path: '/v1/messages', headers: ANTHROPIC_HEADERS, body: JSON.stringify(body) };
}

const CASES: Case[] = (['chat', 'responses', 'messages'] as const).flatMap((api) =>
  (['json', 'sse'] as const).flatMap((form) => (['text', 'tool'] as const).map((answer) => makeCase(api, form, answer))),
);

const round3 = (v: number) => Math.round(v * 1000) / 1000;
const label = (c: Case) => `${c.api} ${c.form} ${c.answer}`;

/** What the whole body of a reply to `c` must contain, whoever sent it: the answer's kind and its end. */
function checkBody(c: Case, who: string, contentType: string, text: string): void {
  const fail = (why: string) => {
    throw new Error(`${label(c)} via ${who}: ${why}\n${text.slice(0, 600)}`);
  };
  if (c.form === 'json' && !contentType.startsWith('application/json')) fail(`content-type ${contentType}, not JSON`);
  if (c.form === 'sse' && !contentType.startsWith('text/event-stream')) fail(`content-type ${contentType}, not SSE`);
  if (c.answer === 'tool' && !(text.includes('Paris') && text.includes('Rome') && text.includes('get_weather'))) fail('no tool calls for Paris and Rome');
  if (c.answer === 'text' && !text.includes('Answer')) fail('no text answer');
  const end: Record<Api, Record<Form, string>> = {
    chat: { json: '"finish_reason"', sse: 'data: [DONE]' },
    responses: { json: '"status":"completed"', sse: 'event: response.completed' },
    messages: { json: '"stop_reason"', sse: 'event: message_stop' },
  };
  if (!text.includes(end[c.api][c.form])) fail(`no ${end[c.api][c.form]}`);
}

// ---------------------------------------------------------------------------
// the client

const send = (dispatcher: Agent, base: string, c: Case): Promise<Reply> => timedPost(dispatcher, `${base}${c.path}`, c.headers, c.body);

function expectOk(c: Case, who: string, r: Reply): void {
  if (r.status !== 200) throw new Error(`${label(c)} via ${who}: HTTP ${r.status}\n${r.text.slice(0, 600)}`);
  checkBody(c, who, r.contentType, r.text);
}

function expectHit(c: Case, r: Reply, round: number): void {
  expectOk(c, 'Reprise', r);
  if (r.cache !== 'HIT') throw new Error(`${label(c)}: round ${round} through Reprise was x-cache-status ${r.cache || '(none)'}, not HIT`);
  if (r.match !== 'exact') throw new Error(`${label(c)}: round ${round} through Reprise was a ${r.match || '(unnamed)'} hit, not exact`);
}

/** Store the case's entry: one MISS, then wait until a request is an exact HIT (an SSE answer is stored once its stream has ended). */
async function warm(reprise: Agent, base: string, c: Case): Promise<{ miss: Reply; hit: Reply }> {
  const miss = await send(reprise, base, c);
  expectOk(c, 'Reprise (miss)', miss);
  if (miss.cache !== 'MISS') throw new Error(`${label(c)}: the first request was x-cache-status ${miss.cache || '(none)'}, not MISS`);
  for (let i = 0; i < 100; i++) {
    const r = await send(reprise, base, c);
    expectOk(c, 'Reprise (warm-up)', r);
    if (r.cache === 'HIT') {
      expectHit(c, r, -1);
      return { miss, hit: r };
    }
    await sleep(20);
  }
  throw new Error(`${label(c)}: no exact HIT within 100 tries after the miss`);
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

// ---------------------------------------------------------------------------
// the run

type Summary = ReturnType<typeof summarize> & { p90: number; min: number };
const describe = (ms: number[]): Summary => ({ ...summarize(ms), p90: percentile(ms, 90), min: Math.min(...ms) });

interface Row {
  api: Api;
  form: Form;
  answer: Answer;
  /** ms: n, mean, p50, p99 (bench/lib/stats.ts summarize), plus p90 and the fastest */
  direct: Summary;
  hit: Summary;
  /** hit p50 / direct p50 */
  ratio: number;
  /** the median, over rounds, of that round's hit / direct (each pair measured back to back) */
  pairedRatio: number;
  bytes: { direct: number; hit: number };
  /** the JSON forms: the hit's JSON equals the answer the miss passed on */
  sameAsMiss?: boolean;
  /** the warm-up: the miss, and the first exact hit (which also serialises the entry for its form: one sample, noisy) */
  warmMs: { miss: number; firstHit: number };
}

async function main(): Promise<void> {
  const { startScript } = await import('./latency/children.js');
  const rounds = Number.parseInt(values.rounds!, 10);
  const warmup = Number.parseInt(values.warmup!, 10);
  if (!(rounds >= 1) || !(warmup >= 0)) throw new Error('--rounds must be >= 1 and --warmup >= 0');

  const started = Date.now();
  const loadBefore = loadavg();
  const upstream = await startScript<{ url: string; origin: string }>('bench/apis.ts', ['--serve', 'upstream']);
  const reprise = await startScript<{ url: string }>('bench/apis.ts', ['--serve', 'reprise', '--upstream', upstream.info.url], { timeoutMs: 120_000 });
  // One keep-alive connection to each, as one client of an LLM API would hold.
  const toReprise = new Agent({ connections: 1, keepAliveTimeout: 60_000 });
  const toUpstream = new Agent({ connections: 1, keepAliveTimeout: 60_000 });
  try {
    const warmed = new Map<Case, { miss: Reply; hit: Reply }>();
    for (const c of CASES) warmed.set(c, await warm(toReprise, reprise.info.url, c));

    const times = new Map(CASES.map((c) => [c, { hit: [] as number[], direct: [] as number[], bytes: { hit: 0, direct: 0 } }]));
    const timedStart = performance.now();
    const random = rng(0x5eed);
    for (let round = 0; round < warmup + rounds; round++) {
      // The cases in a new order each round (seeded), so no case always follows the same neighbour.
      for (const c of shuffled(CASES, random)) {
        const t = times.get(c)!;
        const a = await send(toReprise, reprise.info.url, c);
        expectHit(c, a, round);
        const b = await send(toUpstream, upstream.info.origin, c);
        expectOk(c, 'the upstream', b);
        if (round < warmup) continue;
        t.hit.push(a.ms);
        t.direct.push(b.ms);
        t.bytes = { hit: Buffer.byteLength(a.text), direct: Buffer.byteLength(b.text) };
      }
    }
    const timedSeconds = (performance.now() - timedStart) / 1000;

    const rows: Row[] = CASES.map((c) => {
      const t = times.get(c)!;
      const hit = describe(t.hit);
      const direct = describe(t.direct);
      const paired = percentile(
        t.hit.map((h, i) => h / t.direct[i]!),
        50,
      );
      const w = warmed.get(c)!;
      return {
        api: c.api,
        form: c.form,
        answer: c.answer,
        direct,
        hit,
        ratio: hit.p50 / direct.p50,
        pairedRatio: paired,
        bytes: t.bytes,
        warmMs: { miss: round3(w.miss.ms), firstHit: round3(w.hit.ms) },
        ...(c.form === 'json' && { sameAsMiss: isDeepStrictEqual(JSON.parse(w.hit.text), JSON.parse(w.miss.text)) }),
      };
    });
    const mismatched = rows.filter((r) => r.sameAsMiss === false);
    if (mismatched.length > 0) throw new Error(`a JSON hit is not the answer its miss passed on: ${mismatched.map((r) => `${r.api} ${r.form} ${r.answer}`).join(', ')}`);

    const loadAfter = loadavg();
    const ms = (v: number) => v.toFixed(v < 10 ? 2 : 1);
    const tableRows = rows.map((r) => ({
      API: r.api,
      form: r.form.toUpperCase(),
      answer: r.answer === 'tool' ? 'tool calls' : 'text',
      'direct p50 / p99 ms': `${ms(r.direct.p50)} / ${ms(r.direct.p99)}`,
      'hit p50 / p99 ms': `${ms(r.hit.p50)} / ${ms(r.hit.p99)}`,
      'ratio (hit p50 / direct p50)': r.ratio.toFixed(2),
      'paired ratio p50': r.pairedRatio.toFixed(2),
      'bytes direct / hit': `${r.bytes.direct} / ${r.bytes.hit}`,
    }));
    const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(', ');
    const m = machine();
    const md = [
      '# Exact hits per API',
      '',
      `\`npx tsx bench/apis.ts --rounds ${rounds}${PAD > 0 ? ` --pad ${PAD}` : ''}\`: ${m.date}, ${rounds} timed rounds (after ${warmup} untimed), ${CASES.length} cases per round, ` +
        `${timedSeconds.toFixed(0)} s of requests. Machine: ${m.cpus} × ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}; ` +
        `load average (1, 5, 15 min) ${load(loadBefore)} before, ${load(loadAfter)} after.`,
      '',
      'Each round sends, for every case in turn (a new seeded order each round), one exact hit through Reprise and then the same body straight to the ' +
        'fake upstream (test/fixtures/fake-upstream.ts), one request at a time over one keep-alive connection to each; a ' +
        'request is timed from just before it is written to the end of its body. Reprise (memory store, bundled model) and ' +
        'the upstream each run in their own process; the client is a third. Every timed Reprise response was ' +
        '`x-cache-status: HIT`, and every JSON hit equals the answer its miss passed on.',
      '',
      'The upstream does no model work, so its reply is a floor for the HTTP cost, not what a real API costs: the ratio ' +
        'is hit p50 / direct p50, and below 1 the hit is cheaper than the fake building its reply. The paired ratio is the ' +
        "median of each round's hit / direct, the two measured back to back. Absolute times on this shared 2-core machine " +
        'mean little alone. The fake upstream streams SSE one event per write (a word or an argument fragment each); a ' +
        'hit replays the stored answer as one body with one delta per part, hence the byte counts.',
      '',
      table(tableRows),
      '',
    ].join('\n');
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    // A padded run is a side experiment: it prints its table and leaves the results of the standard run alone.
    if (PAD > 0) {
      process.stdout.write(`${md}\n(--pad: nothing written) ${seconds} s\n`);
      return;
    }
    const mdPath = writeSummary('apis', md);
    const jsonPath = writeResult('apis', {
      config: { rounds, warmup, cases: CASES.length, timedSeconds, wallSeconds: (Date.now() - started) / 1000, loadBefore, loadAfter },
      rows,
    });
    process.stdout.write(`${md}\nwrote ${mdPath} and ${jsonPath} in ${seconds} s\n`);
  } finally {
    await toReprise.close();
    await toUpstream.close();
    await reprise.stop();
    await upstream.stop();
  }
}

if (values.serve === 'upstream') await serveUpstream();
else if (values.serve === 'reprise') {
  if (!values.upstream) throw new Error('--serve reprise needs --upstream URL');
  await serveReprise(values.upstream);
} else await main();
