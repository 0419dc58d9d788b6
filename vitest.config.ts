import { defineConfig } from 'vitest/config';
import SummaryLine from './test/summary-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel forks, tests inside a file in order.
    pool: 'forks',
    reporters: ['default', new SummaryLine()],
  },
});
