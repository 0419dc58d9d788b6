/**
 * The guards (and the judge) compare a long prompt by the part the embedder read, cut exactly as the key cuts it:
 * from the normalised text. Normalisation shortens a text (leading blank lines, CRLF), so a cut of the raw text ended
 * earlier, and a number between the two cuts was embedded but seen by no guard: a prompt that differs only there was
 * served the other one's answer. Real bundled model, real SDK.
 */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness();

/** About 10 KB: blank lines first (the key strips them), the question near the embedder's cut, then shared notes. */
function withBlankLines(n: number, blank = 1500): string {
  const head = 'Please read the notes below and then answer. '.repeat(20);
  const question = `Question: what is 1234 multiplied by ${n}? Answer with the number only. `;
  const notes = 'Background notes that are the same for every request follow here. '.repeat(120);
  return '\n'.repeat(blank) + head + question + notes;
}

/** A log of 600 CRLF lines (about 12.6 KB), one of which gives a limit. */
function crlfLog(limit: number): string {
  const lines = Array.from({ length: 600 }, (_, i) => `row ${String(i).padStart(4, '0')} of the log`);
  lines[97] = `limit is ${limit} units `.slice(0, 19);
  return lines.join('\r\n');
}

describe('guards on a long prompt', () => {
  it.each([
    ['leading blank lines', (n: number) => withBlankLines(n === 1 ? 57 : 58)],
    ['CRLF line ends', (n: number) => crlfLog(n === 1 ? 40 : 90)],
    ['neither (the control)', (n: number) => withBlankLines(n === 1 ? 57 : 58, 0)],
  ])('with %s, a prompt that differs by a number within what the model read is not served the other answer', async (_, prompt) => {
    const c = h.client(`sk-guard-${_.replace(/\W+/g, '-')}`);
    h.up.next({ content: 'THE FIRST ANSWER' });
    const first = await chat(c, ask(prompt(1)));
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const second = await chat(c, ask(prompt(2)));
    expect(second.data.choices[0]?.message.content, `${second.headers.get('x-cache-status')} ${second.headers.get('x-cache-similarity')}`).not.toBe('THE FIRST ANSWER');
    expect(second.headers.get('x-cache-status')).toBe('MISS');
  }, 120_000);
});
