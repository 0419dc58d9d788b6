import { readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import SummaryLine from './test/summary-reporter.js';
import { workerdProject, WORKERD_TESTS } from './test/worker/vitest.project.js';

/** The behaviour suite (test/behaviour) runs once per front; everything else once. */
const BEHAVIOUR = 'test/behaviour/**/*.test.ts';

/**
 * The behaviour files the Worker front runs unchanged: src/worker.ts in workerd through Miniflare, KV and the stats
 * Durable Object simulated, Workers AI embedding with the test's own embedder, Vectorize a stand-in
 * (test/helpers/worker-front.ts).
 */
const ON_THE_WORKER = [
  'admin-purge-api-key',
  'ai-sdk',
  'anthropic-messages',
  'bad-input',
  'chat-tools',
  'controls',
  'embeddings-health',
  'hits',
  'idle-stream-event',
  'keying',
  'long-prompt',
  'long-prompt-guards',
  'long-prompt-stall',
  'no-cache-store',
  'not-stored',
  'odd-status',
  'passthrough',
  'responses-api',
  'shared-cache',
  'single-flight',
  'streaming',
  'tenant-credentials',
  'tenant-gateway-headers',
  'unreadable-answer',
  'upstream-url',
  'verify',
];

/** The behaviour files the Worker front does not run, and why. */
const NOT_ON_THE_WORKER: Record<string, string> = {
  'backfill-feedback': 'needs the embed-busy backfill (--embed-wait against a batching embedder); the Worker embeds with Workers AI, which never reports busy; reads metrics in-process',
  'client-gone': 'a gated embedder and in-process metrics; and workerd sees a client gone only when it next writes to it',
  'budget-replicas': 'replicas sharing a Redis store',
  'cluster-stats': 'replicas sharing a Redis store',
  'controls-clock': 'the FakeClock (max-age, TTL)',
  'embed-busy': 'the embed-busy path (--embed-wait against a batching embedder), which Workers AI never takes; reads metrics in-process',
  'embed-memo-tenants': "counts calls to the model behind the test's memo; on the Worker the memo is the Worker's own and a Workers AI call carries no tenant",
  'entry-size': "reads metrics in-process, and /stats bytes, which only the memory store keeps",
  'error-budget': 'reads the budget metrics in-process',
  'expect-continue': "workerd's HTTP server never answers Expect: 100-continue, so the client never sends its body",
  'fail-open': 'reads the fault metrics in-process, and puts a failing store under the front',
  forwarding: "workerd's fetch adds CF-Worker to every subrequest, so upstream never sees exactly what was sent; reads metrics in-process",
  'healthz-loading': 'an embedder still loading; the Worker\'s is the Workers AI binding, there at once',
  'hits-in-process': 'the FakeClock (Age, TTL), in-process metrics, a store that counts searches',
  'join-controls': 'a gated embedder, a counting store and the FakeClock',
  'json-idle': "workerd ends a chunked response with its last chunk when the body stream errors, so the cut is not on the wire",
  judge: 'reads the judge metrics in-process',
  'late-joiner': "a joiner reading the leader's bytes; the Worker never shares a stream (pipeline.ts awaitStored); metrics in-process",
  'leader-gone': "a joiner reading the leader's bytes, which the Worker never shares; metrics in-process",
  'leader-gone-before-head': "a joiner of the leader's call, counted in-process; the Worker's joiners wait for a stored answer",
  'leader-gone-early': 'joiners and queued calls counted in-process (metrics, inFlight); the Worker never shares a stream',
  metrics: 'on the Worker /metrics and /stats need the admin token (privateOps), which this file does not set',
  'not-stored-counted': 'reads the not-stored metrics in-process; and workerd sees a client gone only when it next writes to it',
  'queue-gone': 'the upstream queue counted in-process (metrics, inFlight); and workerd sees a client gone only when it next writes to it',
  'redis-replicas': 'replicas sharing a Redis store',
  'redis-cluster': 'replicas sharing a Redis store on a Redis Cluster',
  'redis-cluster-server-search': 'replicas sharing a Redis store on a Redis 8 Cluster, searching inside Redis',
  'request-log': 'reads the request log from an in-process logger',
  'shutdown-keepalive': "Node's shutdown (drain, keep-alive connections told to close)",
  'single-flight-shared': "reads the coalesced count in-process; and the Worker's joiners share only a stored answer, so an upstream error is not shared",
  'slow-joiner': "a joiner reading the leader's bytes too slowly; the Worker never shares a stream",
  'upstream-limits': "the upstream timeouts and queue are the Node upstream's (undici); reads metrics in-process",
  'verify-feedback-count': 'reads the feedback metrics in-process',
};

// Every behaviour file is in one list or the other, so a new one is a decision, not an omission.
for (const file of readdirSync(new URL('./test/behaviour/', import.meta.url)).filter((f) => f.endsWith('.test.ts'))) {
  const name = file.slice(0, -'.test.ts'.length);
  if (ON_THE_WORKER.includes(name) === name in NOT_ON_THE_WORKER) throw new Error(`vitest.config.ts: put test/behaviour/${file} in exactly one of ON_THE_WORKER and NOT_ON_THE_WORKER`);
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel forks, tests inside a file in order.
    pool: 'forks',
    reporters: ['default', new SummaryLine()],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [BEHAVIOUR, WORKERD_TESTS] } },
      { extends: true, test: { name: 'node', include: [BEHAVIOUR], env: { REPRISE_FRONT: 'node' } } },
      { extends: true, test: { name: 'web', include: [BEHAVIOUR], env: { REPRISE_FRONT: 'web' } } },
      { extends: true, test: { name: 'worker', include: ON_THE_WORKER.map((f) => `test/behaviour/${f}.test.ts`), env: { REPRISE_FRONT: 'worker' } } },
      // The Worker's own tests, inside workerd (test/worker/vitest.project.ts).
      workerdProject,
    ],
  },
});
