/** The README's configuration table is the documentation users read: it must list every setting and its default. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../src/config.js';
import { quickStartCommands } from './setup/quickstart.mjs';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each(Object.values(OPTIONS).map((o) => [o.flag, o] as const))('documents --%s with its env var and default', (_flag, o) => {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`--${o.flag}\` |`));
    expect(row, `no README row for --${o.flag}`).toBeDefined();
    expect(row).toContain(`\`${o.env}\``);
    if (o.default !== '') expect(row).toContain(`\`${o.default}\``);
  });

  it('keeps the two-command quick start, and CI runs exactly it', () => {
    expect(quickStartCommands(readme)).toEqual(['npm install && npm start', 'npm test']);
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(ci).toMatch(/^exec node test\/setup\/quickstart\.mjs$/m);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    // the test command runs the setup, the type check and the linter before the suite
    expect(pkg.scripts.test).toBe('node test/setup/prepare.mjs && npm run typecheck && npm run lint && vitest run');
  });
});
