/**
 * The cut for embedding, and the hash of what was cut, are taken from the normalised text the exact key is of: two long
 * prompts that normalise alike (CRLF vs LF, a trailing newline) get one scope and one exact key, as short ones do.
 */
import { describe, expect, it } from 'vitest';
import { buildKey } from '../../src/cache/key.js';
import { chatSplit } from '../../src/openai/query-split.js';

const ctx = { tenant: 't', namespace: '', embedderId: 'e', inputLength: (s: string) => Math.min(s.length, 2000) };
const key = (text: string) => buildKey({ endpoint: 'chat', body: { model: 'm', messages: [{ role: 'user', content: text }] }, split: chatSplit }, ctx);

describe('the cut and the exact key', () => {
  it.each([
    ['a trailing newline', (s: string) => `${s}\n`],
    ['CRLF line ends', (s: string) => s.replace(/\n/g, '\r\n')],
  ])('two long prompts that differ only by %s are one exact match, as short ones are', (_name, vary) => {
    const short = 'line one\nline two';
    expect(key(vary(short)).textKey).toBe(key(short).textKey);
    expect(key(vary(short)).scope).toBe(key(short).scope);
    const long = Array.from({ length: 300 }, (_, i) => `line ${i} of the notes`).join('\n');
    expect(key(vary(long)).textKey).toBe(key(long).textKey);
    expect(key(vary(long)).scope, 'same exact key, different scope: an exact miss').toBe(key(long).scope);
  });
});
