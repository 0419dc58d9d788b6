/**
 * The `workerd` vitest project: the Worker (src/worker.ts) tested inside workerd by @cloudflare/vitest-pool-workers,
 * offline. wrangler.toml's `offline` environment gives it KV (CACHE) and the stats Durable Object (STATS), simulated
 * by Miniflare, and its module rules (uPlot's files as Text); the tests add stand-ins for Workers AI and Vectorize
 * (test/fixtures/workers/stand-ins.ts) and the fake upstream, which runs in Node (global-setup.ts).
 *
 * Run it alone with `npx vitest run --project workerd`.
 */
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import type { TestProjectInlineConfiguration } from 'vitest/config';

/** The project's test files; the `unit` project leaves them out, since they run only inside workerd. */
export const WORKERD_TESTS = 'test/worker/**/*.test.ts';

export const workerdProject: TestProjectInlineConfiguration = {
  extends: true,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml', environment: 'offline' },
      // Nothing remote: Workers AI and Vectorize are stand-ins, and no Cloudflare account is logged in.
      remoteBindings: false,
    }),
  ],
  test: {
    name: 'workerd',
    include: [WORKERD_TESTS],
    globalSetup: ['test/worker/global-setup.ts'],
  },
};
