import { defineConfig } from 'vitest/config';
import SummaryLine from './test/summary-reporter.js';
import { workerdProject, WORKERD_TESTS } from './test/worker/vitest.project.js';

/** The behaviour suite (test/behaviour) runs once per front; everything else once. */
const BEHAVIOUR = 'test/behaviour/**/*.test.ts';

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
      // The Worker's own tests, inside workerd (test/worker/vitest.project.ts).
      workerdProject,
    ],
  },
});
