/** The README's configuration table is the documentation users read: it must list every setting and its default. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each(Object.values(OPTIONS).map((o) => [o.flag, o] as const))('documents --%s with its env var and default', (_flag, o) => {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`--${o.flag}\` |`));
    expect(row, `no README row for --${o.flag}`).toBeDefined();
    expect(row).toContain(`\`${o.env}\``);
    if (o.default !== '') expect(row).toContain(`\`${o.default}\``);
  });

  it('keeps the two-command quick start', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });
});
