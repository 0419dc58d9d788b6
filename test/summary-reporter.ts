/**
 * Prints one plain closing line, "N passed, N failed, N skipped", that any CI log reader understands, and fails the
 * run when any test was skipped: the suite runs whole or says why not (test/setup/prepare.mjs installs what it needs).
 */
import type { Reporter, TestModule, Vitest } from 'vitest/node';

export default class SummaryLine implements Reporter {
  private filtered = false;

  onInit(vitest: Vitest): void {
    // `vitest run -t name` skips every other test on purpose.
    this.filtered = vitest.config.testNamePattern !== undefined;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    const skipped: string[] = [];
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped.push(`${m.moduleId.replace(`${process.cwd()}/`, '')} > ${t.fullName}`);
      }
    }
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped.length} skipped\n`);
    if (skipped.length > 0 && !this.filtered) {
      for (const s of skipped) process.stdout.write(`skipped: ${s}\n`);
      process.stdout.write('A whole run must not skip tests: fix the cause, or remove the test.\n');
      process.exitCode = 1;
    }
  }
}
