/**
 * @module test/helpers/front: a running Reprise on the front the behaviour suite is run against. vitest.config.ts
 * runs test/behaviour/ once per front, with REPRISE_FRONT set: "node" (node/listener.ts, what production runs) or
 * "web" (app.ts, the Hono front Web runtimes use, here served through @hono/node-server). Both are made from the
 * same Node parts (node/server.ts nodeParts), so they differ only in the front. "worker" is the Cloudflare Worker
 * (src/worker.ts) in workerd, with its own parts (test/helpers/worker-front.ts); it runs the behaviour files that
 * need nothing in-process (vitest.config.ts lists them).
 */
import { getRequestListener } from '@hono/node-server';
import { createApp } from '../../src/app.js';
import { parseConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/observe/logger.js';
import { nodeParts, serve, startReprise, type Running, type StartOptions } from '../../src/node/server.js';

export type Front = 'node' | 'web' | 'worker';

const given = process.env.REPRISE_FRONT;
export const FRONT: Front = given === 'web' || given === 'worker' ? given : 'node';

/** Start Reprise on `front` (the suite's front by default). */
export async function startFront(config: Config, opts: StartOptions = {}, front: Front = FRONT): Promise<Running> {
  if (front === 'node') return startReprise(config, opts);
  // Loaded only for the Worker: Miniflare takes a while to import, which the other fronts need not pay.
  if (front === 'worker') return (await import('./worker-front.js')).startWorkerFront(config, opts);
  const parts = await nodeParts(config, opts);
  const app = createApp(parts.deps, parts.handler);
  return serve(config, parts, getRequestListener(app.fetch));
}

/** Reprise on the suite's front in front of `upstream`, on a free port, quiet, with `flags`; resolves once it is ready. */
export async function startFrontFor(upstream: string, opts: StartOptions = {}, flags: Record<string, string> = {}): Promise<Running> {
  const config = parseConfig({ port: '0', host: '127.0.0.1', upstream, 'log-level': 'silent', ...flags }, {});
  const running = await startFront(config, { logger: silentLogger, ...opts });
  await running.ready;
  return running;
}

/** The config of a replica on a shared Redis store, as the replica suites start them (flags override these). */
export function redisReplicaConfig(o: { upstream: string; redisUrl: string; prefix: string; redisTimeoutMs: number; adminToken: string }, flags: Record<string, string> = {}): Config {
  return parseConfig(
    {
      port: '0',
      host: '127.0.0.1',
      upstream: o.upstream,
      'log-level': 'silent',
      store: 'redis',
      'redis-url': o.redisUrl,
      'redis-timeout': String(o.redisTimeoutMs),
      'redis-prefix': o.prefix,
      'admin-token': o.adminToken,
      // as the harness does: a busy CI machine may hold an embedding past the default --embed-wait
      'embed-wait': '60000',
      ...flags,
    },
    {},
  );
}
