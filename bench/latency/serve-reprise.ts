/**
 * @module bench/latency/serve-reprise: Reprise in its own process for the load tests.
 *
 * `node --import tsx bench/latency/serve-reprise.ts --upstream URL [--cache true|false] [--embed-thread true|false]`
 * starts Reprise with the bundled USE-lite embedder (offline; in a worker thread unless `--embed-thread false`),
 * waits until the embedder is loaded, and prints
 * `{"url":"http://127.0.0.1:PORT/v1","control":"http://127.0.0.1:PORT2"}`.
 *
 * The control port answers `POST /time-embed` with a JSON array of texts: it embeds them one at a time through the
 * embedder Reprise itself uses (memo → micro-batcher → model) and returns the milliseconds each took. That is "one
 * embedding" as a request on the semantic path pays it, measured in the same process, in the same state.
 * `GET /embed-log` returns (and clears) how long each embed call made by the app itself took, in order.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/observe/logger.js';
import { startReprise } from '../../src/node/server.js';
import { BatchingEmbedder } from '../../src/embed/batcher.js';
import { MemoEmbedder } from '../../src/embed/memo.js';
import type { EmbedOptions } from '../../src/embed/types.js';
import { loadUseLite } from '../../src/embed/use-lite.js';

const { values } = parseArgs({
  options: { upstream: { type: 'string' }, cache: { type: 'string', default: 'true' }, 'embed-thread': { type: 'string', default: 'true' } },
});
if (!values.upstream) throw new Error('--upstream is required');

const running = await startReprise(
  parseConfig(
    { port: '0', host: '127.0.0.1', upstream: values.upstream, cache: values.cache, 'embed-model': 'bundled', 'log-level': 'silent' },
    {},
  ),
  {
    logger: silentLogger,
    // `--embed-thread false`: the model in the server's own thread, as before src/embed/use-lite-thread.ts, for
    // the mixed-load comparison; wrapped as src/embed/load.ts wraps it.
    ...(values['embed-thread'] === 'false' && { embedder: loadUseLite().then((e) => new MemoEmbedder(new BatchingEmbedder(e, 4))) }),
  },
);
const embedder = await running.ready;
// A few calls so that the model's first-call costs (kernel compilation, allocation) are not measured later.
for (let i = 0; i < 5; i++) await embedder.embed([`warm-up sentence number ${i} for the embedding model`]);

// Every embed call the app makes is timed too (not the control port's own), so that a run can split a semantic
// hit's latency into the embedding that very request paid and everything else: GET /embed-log returns and clears it.
let requestEmbeds: number[] = [];
let controlEmbedding = false;
const embed = embedder.embed.bind(embedder);
embedder.embed = async (texts: string[], opts?: EmbedOptions) => {
  if (controlEmbedding) return embed(texts, opts);
  const start = performance.now();
  try {
    return await embed(texts, opts);
  } finally {
    requestEmbeds.push(performance.now() - start);
  }
};

const control = createServer((req, res) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString('utf8')));
  req.on('end', async () => {
    try {
      if (req.url === '/embed-log') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(requestEmbeds));
        requestEmbeds = [];
        return;
      }
      if (req.url !== '/time-embed') throw new Error(`unknown control route ${req.url}`);
      const texts = JSON.parse(body) as string[];
      const ms: number[] = [];
      controlEmbedding = true;
      try {
        for (const t of texts) {
          const start = performance.now();
          await embedder.embed([t]);
          ms.push(performance.now() - start);
        }
      } finally {
        controlEmbedding = false;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ embedder: embedder.id, ms }));
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
});
control.listen(0, '127.0.0.1', () => {
  const { port } = control.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `${running.url}/v1`, control: `http://127.0.0.1:${port}`, embedder: embedder.id })}\n`);
});

// Exit through process.exit so that `node --cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
