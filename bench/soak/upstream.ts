/**
 * @module bench/soak/upstream: the soak's fake OpenAI upstream, run as its own process:
 *
 *   node --import tsx bench/soak/upstream.ts [--seed 1] [--error-rate 0.05] [--break-rate 0.05] [--truncate-rate 0.02]
 *                                            [--json-break-rate 0.02] [--slow-rate 0.2]
 *
 * prints `{"url":"http://127.0.0.1:PORT/v1","control":"http://127.0.0.1:PORT/soak"}`. Every chat completion's content
 * says what was asked (bench/soak/answer.ts): the tenant by its credential (Authorization bearer, else api-key,
 * else x-api-key), the scope (model and system prompt), the question (the last user message), and this call's id.
 * Each call draws a fate, and says it in response headers (which Reprise passes on, and a joiner receives with the
 * leader's head), so the client can tell a fault this upstream injected from one Reprise caused:
 *
 *   x-soak-call: u123     x-soak-fate: ok | slow | error | break | truncate     (x-soak-status: the error status)
 *
 * - error (5%): 429, 500 or 503 with an OpenAI error body; never to be stored.
 * - break (5% of streams, 2% of JSON): some of the body, then the socket is destroyed (for a stream: never [DONE];
 *   sometimes everything but [DONE]).
 * - truncate (2% of streams): some events, then a clean end without [DONE]; a faithful proxy passes that on, and
 *   must not store it.
 * - slow (20%, beside any other fate): pauses of 100-600 ms between events, or before a JSON head.
 *
 * The control routes report what happened to each call: `GET /soak/stats` (counts by fate and by what became of
 * the call) and `POST /soak/calls` with a JSON array of call ids (their records).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { answerText, deltas } from './answer.js';
import { questionId, rng, scopeId } from './pool.js';

const { values: o } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    'error-rate': { type: 'string', default: '0.05' },
    'break-rate': { type: 'string', default: '0.05' },
    'truncate-rate': { type: 'string', default: '0.02' },
    'json-break-rate': { type: 'string', default: '0.02' },
    'slow-rate': { type: 'string', default: '0.2' },
  },
});
const rand = rng(Number(o.seed) * 7919);
const rates = { error: Number(o['error-rate']), break: Number(o['break-rate']), truncate: Number(o['truncate-rate']), jsonBreak: Number(o['json-break-rate']), slow: Number(o['slow-rate']) };

export type Fate = 'ok' | 'error' | 'break' | 'truncate';

/** What became of one upstream call. */
export interface CallRecord {
  id: string;
  at: number;
  tenant: string;
  stream: boolean;
  fate: Fate;
  slow: boolean;
  status: number;
  /** events (stream) or bytes (JSON) the fate lets out before the break or truncation */
  cutAfter?: number;
  /** events or bytes written */
  sent: number;
  total: number;
  /** done: the whole planned response went out; broken / truncated: as planned; peer-closed: Reprise hung up first */
  end: 'pending' | 'done' | 'broken' | 'truncated' | 'peer-closed';
  ms?: number;
}

const calls = new Map<string, CallRecord>();
let next = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const slowPause = () => 100 + Math.floor(rand() * 500);

function credentialOf(req: IncomingMessage): string {
  const auth = req.headers.authorization;
  if (auth) return auth.replace(/^Bearer\s+/i, '');
  const key = req.headers['api-key'] ?? req.headers['x-api-key'];
  return (Array.isArray(key) ? key[0] : key) ?? 'none';
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length, ...headers });
  res.end(bytes);
}

const CREATED = 1_700_000_000;
const chunk = (model: string, id: string, choice: object, extra: object = {}) =>
  `data: ${JSON.stringify({ id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created: CREATED, model, system_fingerprint: 'fp_soak', choices: [choice], ...extra })}\n\n`;

async function chat(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
  const body = JSON.parse(raw) as { model: string; messages: Array<{ role: string; content: string }>; stream?: boolean; stream_options?: { include_usage?: boolean } };
  const id = `u${++next}`;
  const stream = body.stream === true;
  const usage = stream && body.stream_options?.include_usage === true;
  const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
  const last = body.messages[body.messages.length - 1]!;
  const tenant = credentialOf(req);
  const cc = String(req.headers['cache-control'] ?? '');
  const content = answerText({ tenant, scope: scopeId(body.model, system), q: questionId(last.content), call: id, nostore: /no-store/i.test(cc) });

  const r = rand();
  const fate: Fate = r < rates.error ? 'error' : stream ? (r < rates.error + rates.break ? 'break' : r < rates.error + rates.break + rates.truncate ? 'truncate' : 'ok') : r < rates.error + rates.jsonBreak ? 'break' : 'ok';
  const slow = rand() < rates.slow;
  const rec: CallRecord = { id, at: Date.now(), tenant, stream, fate, slow, status: 200, sent: 0, total: 0, end: 'pending' };
  calls.set(id, rec);
  const started = performance.now();
  res.on('close', () => {
    if (rec.end === 'pending') rec.end = res.writableFinished ? 'done' : 'peer-closed';
    rec.ms = Math.round(performance.now() - started);
  });
  const soak = { 'x-soak-call': id, 'x-soak-fate': fate };

  if (fate === 'error') {
    rec.status = [429, 500, 503][Math.floor(rand() * 3)]!;
    if (slow) await sleep(slowPause());
    const type = rec.status === 429 ? 'rate_limit_error' : 'server_error';
    return json(res, rec.status, { error: { message: `injected ${rec.status} (soak upstream, call ${id})`, type, param: null, code: null } }, { ...soak, 'x-soak-status': String(rec.status), ...(rec.status === 429 && { 'retry-after': '1' }) });
  }

  if (!stream) {
    const bytes = Buffer.from(
      JSON.stringify({
        id: `chatcmpl-${id}`, object: 'chat.completion', created: CREATED, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 20, completion_tokens: 40, total_tokens: 60 }, system_fingerprint: 'fp_soak',
      }),
    );
    rec.total = bytes.length;
    if (slow) await sleep(slowPause());
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length, ...soak });
    if (fate === 'break') {
      rec.cutAfter = 1 + Math.floor(rand() * (bytes.length - 1));
      res.write(bytes.subarray(0, rec.cutAfter));
      rec.sent = rec.cutAfter;
      await sleep(5);
      rec.end = 'broken';
      res.socket?.destroy();
      return;
    }
    rec.sent = bytes.length;
    res.end(bytes);
    return;
  }

  const events = [
    chunk(body.model, id, { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }, usage ? { usage: null } : {}),
    ...deltas(content).map((d) => chunk(body.model, id, { index: 0, delta: { content: d }, logprobs: null, finish_reason: null }, usage ? { usage: null } : {})),
    chunk(body.model, id, { index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }, usage ? { usage: null } : {}),
    ...(usage ? [`data: ${JSON.stringify({ id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created: CREATED, model: body.model, choices: [], usage: { prompt_tokens: 20, completion_tokens: 40, total_tokens: 60 } })}\n\n`] : []),
    'data: [DONE]\n\n',
  ];
  rec.total = events.length;
  // Break or truncate after 1 .. all-but-[DONE] events: the last of these has the whole content and its finish
  // reason, and lacks only [DONE].
  if (fate === 'break' || fate === 'truncate') rec.cutAfter = 1 + Math.floor(rand() * (events.length - 1));
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...soak });
  for (let i = 0; i < events.length; i++) {
    if (i === rec.cutAfter) {
      if (fate === 'break') {
        rec.end = 'broken';
        res.socket?.destroy();
      } else {
        rec.end = 'truncated';
        res.end();
      }
      return;
    }
    if (res.destroyed) return;
    res.write(events[i]!);
    rec.sent = i + 1;
    await (slow && rand() < 0.3 ? sleep(slowPause()) : new Promise((r) => setImmediate(r)));
  }
  res.end();
}

function control(req: IncomingMessage, res: ServerResponse, raw: string): void {
  if (req.url === '/soak/stats') {
    const count = (f: (r: CallRecord) => string) => [...calls.values()].reduce<Record<string, number>>((m, r) => ((m[f(r)] = (m[f(r)] ?? 0) + 1), m), {});
    return json(res, 200, {
      calls: calls.size,
      byFate: count((r) => `${r.stream ? 'stream' : 'json'} ${r.fate}${r.fate === 'error' ? ` ${r.status}` : ''}`),
      slow: [...calls.values()].filter((r) => r.slow).length,
      byEnd: count((r) => `${r.fate} → ${r.end}`),
    });
  }
  if (req.url === '/soak/calls') {
    const ids = JSON.parse(raw || '[]') as string[];
    return json(res, 200, Object.fromEntries(ids.map((id) => [id, calls.get(id) ?? null])));
  }
  json(res, 404, { error: { message: 'not found (soak upstream)', type: 'invalid_request_error', param: null, code: null } });
}

const server = createServer((req, res) => {
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (raw += d));
  req.on('end', () => {
    const route = req.url?.startsWith('/soak/') ? Promise.resolve(control(req, res, raw)) : req.method === 'POST' && req.url?.endsWith('/chat/completions') ? chat(req, res, raw) : Promise.resolve(control(req, res, raw));
    route.catch((err: unknown) => {
      process.stderr.write(`soak upstream: ${String(err)}\n`);
      if (!res.headersSent) json(res, 400, { error: { message: `soak upstream could not read the request: ${String(err)}`, type: 'invalid_request_error', param: null, code: null } });
      else res.destroy();
    });
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/v1`, control: `http://127.0.0.1:${port}/soak` })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
