/**
 * @module bench/latency/load: the load generator, run as its own process: `node --import tsx
 * bench/latency/load.ts spec.json`. It drives autocannon with a fixed number of connections for warm-up + duration
 * seconds without a break, counts only the responses that complete after the warm-up, and prints one JSON line.
 * (Two separate autocannon runs would leave the warm-up's abandoned requests queued in the server, so the measured
 * run would start behind a backlog: on the embedding-bound paths that backlog is seconds long.)
 *
 * Each request takes the next body from the spec's list (one counter shared by all connections), so no two
 * requests in flight carry the same question unless the list is shorter than the run. Latencies are recorded from
 * autocannon's `response` events at full (sub-millisecond) resolution; autocannon's own histogram rounds to 1 ms.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { percentile } from '../lib/stats.js';

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  bodies: string[];
  connections: number;
  /** seconds measured */
  duration: number;
  /** seconds of load before the measured run, not counted */
  warmup: number;
  /** count the values of these response headers (e.g. x-cache-status) over the measured run */
  countHeaders?: string[];
}

export interface LoadResult {
  /** 2xx responses completed in the measured window */
  requests: number;
  seconds: number;
  rps: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** autocannon's own figures over the whole run, warm-up included (1 ms resolution), for cross-checking */
  autocannon: { rpsAverage: number; p50: number; p99: number; errors: number; timeouts: number };
  /** connection errors and timeouts in the measured window */
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  headerCounts: Record<string, Record<string, number>>;
  /** bodies the measured run used, counted from the first; more than `bodies.length` means the list wrapped */
  bodiesUsed: number;
  bodiesAvailable: number;
  warmupRequests: number;
  /** the load generator's own CPU time over the whole run (user + system), ms */
  cpuMs: number;
  /** filled in by run.ts: CPU µs each serving process (and the load generator) used per response, warm-up included */
  cpuUsPerResponse?: Record<string, number>;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;
const bodies = spec.bodies.map((b) => Buffer.from(b));
let next = 0;
let measuring = false;
let startIndex = 0;
let warmupRequests = 0;
let latencies = new Float64Array(1 << 16);
let n = 0;
let errors = 0;
let non2xx = 0;
const statusCodes: Record<string, number> = {};
const headerCounts: Record<string, Record<string, number>> = {};

/** autocannon hands over headers with the server's spelling of each name. */
function findHeader(headers: Record<string, string>, name: string): string | undefined {
  if (headers[name] !== undefined) return headers[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const instance = autocannon(
  {
    url: spec.url,
    method: 'POST',
    connections: spec.connections,
    duration: spec.warmup + spec.duration,
    timeout: 30,
    headers: { 'content-type': 'application/json', ...spec.headers },
    requests: [
      {
        setupRequest: (req: autocannon.Request) => ({ ...req, body: bodies[next++ % bodies.length] }),
        ...(spec.countHeaders && {
          onResponse: (_status: number, _body: string, _ctx: object, headers: autocannon.Request['headers']) => {
            if (!measuring) return;
            for (const h of spec.countHeaders!) {
              const v = findHeader((headers ?? {}) as Record<string, string>, h) ?? '(none)';
              const counts = (headerCounts[h] ??= {});
              counts[v] = (counts[v] ?? 0) + 1;
            }
          },
        }),
      },
    ],
  },
  () => {},
);
instance.on('response', (_client, statusCode, _bytes, responseTime) => {
  if (!measuring) {
    warmupRequests++;
    return;
  }
  statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
  if (statusCode < 200 || statusCode > 299) {
    non2xx++;
    return;
  }
  if (n === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[n++] = responseTime;
});
instance.on('reqError', () => {
  if (measuring) errors++;
});

let windowStart = performance.now();
setTimeout(() => {
  measuring = true;
  startIndex = next;
  windowStart = performance.now();
}, spec.warmup * 1000);
const result = await new Promise<autocannon.Result>((resolve) => instance.on('done', resolve));
const seconds = (performance.now() - windowStart) / 1000;

const lat = latencies.subarray(0, n);
let sum = 0;
for (const v of lat) sum += v;
const out: LoadResult = {
  requests: n,
  seconds,
  rps: n / seconds,
  latencyMs: { mean: sum / n, p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), max: percentile(lat, 100) },
  autocannon: { rpsAverage: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors, timeouts: result.timeouts },
  errors,
  non2xx,
  statusCodes,
  headerCounts,
  bodiesUsed: next - startIndex,
  bodiesAvailable: bodies.length,
  warmupRequests,
  cpuMs: (() => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  })(),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
