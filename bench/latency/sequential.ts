/**
 * @module bench/latency/sequential: one request at a time, for time-to-first-byte and unloaded latency. Run as
 * its own process: `node --import tsx bench/latency/sequential.ts spec.json`; prints one JSON line.
 *
 * Targets are visited round-robin (A, B, C, A, B, C, ...), so a burst of noise from elsewhere on a shared machine
 * lands on all of them alike instead of on whichever was being measured at the time. Each target keeps one
 * keep-alive connection, as a client of an LLM API would.
 *
 * Per request it records: `ttfb`, from just before the request is written to the first body byte; and `total`,
 * to the end of the body. It also counts the `x-cache-status` / `x-cache-match` values seen.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

export interface SequentialTarget {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** one body per request; warm-up requests take theirs from the front */
  bodies: string[];
  /**
   * The server times the work itself and answers `{"ms":[n]}` (serve-reprise's /time-embed): record n as the
   * request's `total` instead of the client-side time.
   */
  reportsMs?: boolean;
}

export interface SequentialSpec {
  targets: SequentialTarget[];
  /** rounds not recorded */
  warmup: number;
  /** rounds recorded */
  rounds: number;
}

export interface SequentialResult {
  targets: Record<string, { ttfb: number[]; total: number[]; statuses: Record<string, number>; errors: number }>;
}

function once(url: URL, agent: Agent, headers: Record<string, string>, body: Buffer, reportsMs = false): Promise<{ ttfb: number; total: number; cache: string; status: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let ttfb = NaN;
    let text = '';
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers } },
      (res) => {
        res.on('data', (d: Buffer) => {
          if (Number.isNaN(ttfb)) ttfb = performance.now() - start;
          if (reportsMs) text += d.toString('utf8');
        });
        res.on('end', () => {
          const total = reportsMs ? (JSON.parse(text) as { ms: number[] }).ms[0]! : performance.now() - start;
          const cache = `${res.headers['x-cache-status'] ?? '(none)'}${res.headers['x-cache-match'] ? `/${res.headers['x-cache-match']}` : ''}`;
          resolve({ ttfb, total, cache, status: res.statusCode ?? 0 });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as SequentialSpec;
const out: SequentialResult = { targets: {} };
const agents = spec.targets.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
for (const t of spec.targets) out.targets[t.name] = { ttfb: [], total: [], statuses: {}, errors: 0 };

for (let round = 0; round < spec.warmup + spec.rounds; round++) {
  for (const [i, t] of spec.targets.entries()) {
    const body = Buffer.from(t.bodies[round % t.bodies.length]!);
    const r = out.targets[t.name]!;
    try {
      const m = await once(new URL(t.url), agents[i]!, t.headers, body, t.reportsMs);
      if (round < spec.warmup) continue;
      if (m.status < 200 || m.status > 299) r.errors++;
      else {
        r.ttfb.push(m.ttfb);
        r.total.push(m.total);
      }
      r.statuses[m.cache] = (r.statuses[m.cache] ?? 0) + 1;
    } catch {
      if (round >= spec.warmup) r.errors++;
    }
  }
}
for (const a of agents) a.destroy();
process.stdout.write(`${JSON.stringify(out)}\n`);
