/**
 * @module bench/latency/data: the questions the latency scenarios send, and the request bodies around them.
 */
import { resolve } from 'node:path';
import { DATA_DIR, loadPairs as loadPairsFrom, type Pair } from '../quality/split.js';

/** A data file of ../shared/data (or $REPRISE_DATA) by name, read and checked as bench/quality reads it. */
export function loadPairs(file: string): Pair[] {
  return loadPairsFrom(resolve(DATA_DIR, file));
}

/**
 * Distinct questions from qqp-dev, in file order: every `a`, and every `b` that is not labelled a duplicate of its
 * `a` (so that a run of "distinct questions" is not full of paraphrases that would hit each other).
 */
export function qqpQuestions(): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of loadPairs('qqp-dev.jsonl')) {
    for (const q of p.label === 1 ? [p.a] : [p.a, p.b]) {
      const t = q.trim().replace(/\s+/g, ' ');
      const k = t.toLowerCase();
      if (t.length < 12 || t.length > 300 || seen.has(k)) continue;
      seen.add(k);
      out.push(t);
    }
  }
  return out;
}

export const MODEL = 'gpt-4o-mini';

/** A chat request with one user turn: everything but the text is the same for every request of a run. */
export function chatBody(text: string, stream = false): string {
  return JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: text }], ...(stream && { stream: true }) });
}

/**
 * Characters that Unicode NFKC maps to a plain space and that JavaScript's `\s` matches. The USE-lite tokenizer
 * applies NFKC before anything else, and Reprise's exact key collapses `\s+` to one space, so swapping the spaces
 * of a text for these changes neither its embedding nor its exact key, but does change the raw string that
 * Reprise's embedding memo is keyed by. That is how the semantic-hit scenario makes every request pay for one
 * real model call, as a never-seen paraphrase would, without running out of paraphrases.
 */
const SPACES = [' ', '\u00a0', '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a', '\u202f', '\u205f', '\u3000'];

/** How many distinct variants `spaceVariant` can make of a text. */
export function variantCount(text: string): number {
  return SPACES.length ** Math.min(4, (text.match(/ /g) ?? []).length);
}

/** Variant `v` of a text (0 = the text itself): its first spaces replaced by v's digits in base 16. */
export function spaceVariant(text: string, v: number): string {
  let n = v;
  return text.replace(/ /g, (sp) => {
    if (n === 0) return sp;
    const c = SPACES[n % SPACES.length]!;
    n = Math.floor(n / SPACES.length);
    return c;
  });
}
