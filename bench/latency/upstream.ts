/**
 * @module bench/latency/upstream: the fake OpenAI upstream every latency scenario talks to. It answers at once
 * (0 ms) with a fixed chat.completion, or a fixed SSE stream when the body asks for `"stream": true`, and does
 * as little work as it can, so that it is never the bottleneck it is measured against. It keeps no state and
 * records nothing (the test fixture's fake records every call, which grows without bound under load).
 *
 * Run as its own process: `node --import tsx bench/latency/upstream.ts` prints `{"url":"http://127.0.0.1:PORT/v1"}`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const CREATED = 1_700_000_000;
const ANSWER = 'A fixed answer from the benchmark upstream, long enough to look like a short reply.';
const USAGE = { prompt_tokens: 12, completion_tokens: 16, total_tokens: 28 };

const JSON_BODY = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: CREATED,
    model: 'bench-model',
    choices: [{ index: 0, message: { role: 'assistant', content: ANSWER, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: USAGE,
    system_fingerprint: 'fp_bench',
  }),
);

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: CREATED,
    model: 'bench-model',
    system_fingerprint: 'fp_bench',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  })}\n\n`;

/** The first event goes out on its own, so a client's first body byte is this event, not the whole answer. */
const SSE_FIRST = Buffer.from(chunk({ role: 'assistant', content: '' }));
const SSE_REST = Buffer.from(
  [...(ANSWER.match(/\s*\S+/g) ?? []).map((w) => chunk({ content: w })), chunk({}, 'stop'), 'data: [DONE]\n\n'].join(''),
);

const NOT_FOUND = Buffer.from(JSON.stringify({ error: { message: 'not found (bench upstream)', type: 'invalid_request_error', param: null, code: null } }));
const STREAM_RE = /"stream"\s*:\s*true/;

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': NOT_FOUND.length });
    res.end(NOT_FOUND);
    return;
  }
  if (!STREAM_RE.test(body)) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': JSON_BODY.length });
    res.end(JSON_BODY);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(SSE_FIRST);
  // The rest follows on the next turn of the event loop: still "0 ms", but a separate write the client sees arrive.
  setImmediate(() => res.end(SSE_REST));
}

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (body += d));
  req.on('end', () => answer(req, res, body));
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/v1` })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
