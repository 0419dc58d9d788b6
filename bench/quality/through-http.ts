/**
 * The quality measurement through the real HTTP path: a Reprise server (bundled USE-lite) in front of the fake
 * upstream, filled with every `a` and queried with every `b` through the real openai SDK. The fake upstream answers
 * "Answer #k to: <question>", so each hit tells which stored question it came from.
 */
import OpenAI from 'openai';
import { normaliseText } from '../../src/cache/key.js';
import { verify } from '../../src/cache/verify.js';
import { verifierFor } from '../../src/cache/verifier/registry.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/observe/logger.js';
import { startReprise } from '../../src/node/server.js';
import { startFakeUpstream } from '../../test/fixtures/fake-upstream.js';
import { loadData, replay, type QualityData } from './matching-path.js';
import type { Pair } from './split.js';

/** Resolves once the server has embedded every entry it stored without a vector; fails after `timeoutMs`. */
async function backfilled(metrics: { snapshot(): { backfill: { queued: number; done: number; skipped: number; dropped: number; failed: number } } }, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Every entry queued has been dealt with (embedded and written, or given up): the backlog alone empties a moment
  // before the last one is written.
  const pending = () => {
    const b = metrics.snapshot().backfill;
    return b.queued - b.done - b.skipped - b.dropped - b.failed;
  };
  while (pending() > 0) {
    if (Date.now() > deadline) throw new Error(`the server had not embedded its stored questions after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `data`: the embedding table holding every sentence of `pairs` (loadData() when not given). */
export async function throughHttp(pairs: Pair[], mode: 'learned' | 'guards', loaded?: QualityData) {
  const up = await startFakeUpstream();
  const reprise = await startReprise(
    parseConfig({ port: '0', host: '127.0.0.1', upstream: up.url, 'log-level': 'silent', 'embed-model': 'bundled', verify: mode }, {}),
    { logger: silentLogger },
  );
  const embedder = await reprise.ready;
  const client = new OpenAI({ apiKey: 'sk-quality', baseURL: `${reprise.url}/v1`, maxRetries: 0 });
  const ask = (text: string, headers: Record<string, string>) =>
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }, { headers }).withResponse();
  try {
    // no-cache: store every question even when an earlier one would have answered it, as the offline replay does.
    for (const a of new Set(pairs.map((p) => p.a))) await ask(a, { 'cache-control': 'no-cache' });
    // A no-cache request skips the lookup, so its answer is stored exact-only and embedded in the background once
    // the server is idle (cache/backfill.ts): every stored question must have its vector before the queries.
    await backfilled(reprise.metrics);
    const served: Array<string | undefined> = [];
    for (const p of pairs) {
      // ttl 0: look up, but do not store this question's own answer.
      const { data, response } = await ask(p.b, { 'x-cache-ttl': '0' });
      const hit = response.headers.get('x-cache-status') === 'HIT';
      served.push(hit ? /^Answer #\d+ to: ([\s\S]*)$/.exec(data.choices[0]!.message.content ?? '')?.[1] : undefined);
    }
    // The same sample offline, with the same decision rule the server used.
    const data = loaded ?? (await loadData());
    const offline = await replay(pairs, data.table);
    const verifier = mode === 'learned' ? verifierFor(embedder.id) : undefined;
    const vec = (s: string) => {
      const r = data.table.rowOf(s);
      return data.table.vectors.subarray(r * data.table.dim, (r + 1) * data.table.dim);
    };
    const threshold = verifier?.model.floor ?? embedder.defaultThreshold;
    const offlineServed = offline.map((q) => {
      if (q.exact) return q.candidates[0]!.entry.text;
      const v = verify(q.pair.b, q.candidates, { threshold, ...(verifier && { verifier }), vector: vec(q.pair.b) });
      return v.ok ? v.candidate.entry.text : undefined;
    });
    const right = (p: Pair, s: string | undefined) => s !== undefined && ((p.label === 1 && s === p.a) || normaliseText(s) === normaliseText(p.b));
    const tally = (s: Array<string | undefined>) => {
      const hits = s.filter((x) => x !== undefined).length;
      const correct = pairs.filter((p, i) => right(p, s[i])).length;
      const positives = pairs.filter((p) => p.label === 1).length;
      return { served: hits, correct, precision: hits ? correct / hits : 1, recall: correct / positives };
    };
    const agree = pairs.filter((_, i) => served[i] === offlineServed[i]).length;
    return { pairs: pairs.length, verify: mode, ...tally(served), offline: tally(offlineServed), agreement: agree / pairs.length };
  } finally {
    await reprise.close();
    await up.close();
  }
}
