/**
 * @module cache/verify: decide whether a nearby entry really answers this query. Precision comes first: a wrong
 * cached answer is worse than a miss, so a candidate must clear the threshold and every guard.
 */
import type { Candidate } from '../store/types.js';

export type Verdict = { ok: true; candidate: Candidate } | { ok: false; reason: 'below-threshold' | 'guard' | 'none' };

/** Numbers, versions, dates and times in a text, in order ("3.11", "2024-05-01", "10:30"). */
export function numbersIn(text: string): string[] {
  // A minus counts only where it cannot be a hyphen ("-5" yes, "COVID-19" no).
  return (text.match(/(?:(?<![\w.])-)?\d+(?:[.,:/-]\d+)*/g) ?? []).map((n) => n.replace(/,(?=\d{3}\b)/g, ''));
}

/** Texts that differ in any number ask different questions ("Python 3.11" vs "Python 3.12"). */
export function numbersAgree(a: string, b: string): boolean {
  const x = numbersIn(a).sort();
  const y = numbersIn(b).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** The best candidate at or above `threshold` that passes the guards. */
export function verify(query: string, candidates: Candidate[], threshold: number): Verdict {
  let sawAbove = false;
  for (const c of candidates) {
    if (c.score < threshold) break;
    sawAbove = true;
    if (numbersAgree(query, c.entry.text)) return { ok: true, candidate: c };
  }
  if (candidates.length === 0) return { ok: false, reason: 'none' };
  return { ok: false, reason: sawAbove ? 'guard' : 'below-threshold' };
}
