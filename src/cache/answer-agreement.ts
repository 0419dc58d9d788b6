/**
 * @module cache/answer-agreement: would the cached answer have done for this query? Decided after an explored
 * request, by comparing the fresh upstream answer with the candidate entry's answer. This is the label the error
 * budget learns from, so it leans to "no": a false "no" only costs hit rate, a false "yes" lets wrong hits through.
 */
import type { Embedder } from '../embed/types.js';
import { failedGuard } from './verifier/guards.js';

/** Cosine two answers' embeddings need to count as saying the same thing. */
export const ANSWER_AGREEMENT = 0.92;

function normalise(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').replace(/[\s.!?]+$/, '').trim();
}

/**
 * True when `fresh` (what upstream just said) and `cached` (what the candidate would have served), as text
 * (WireApi.answerText), agree: the same text; or no differing detail (numbers, names, negation...) and embeddings at
 * least ANSWER_AGREEMENT alike.
 */
export async function answersAgree(fresh: string, cached: string, embedder: Embedder): Promise<boolean> {
  const a = fresh.trim();
  const b = cached.trim();
  if (a === '' || b === '') return false;
  if (normalise(a) === normalise(b)) return true;
  // Names are told apart by their capitals, so the guards see the texts as written.
  if (failedGuard(a, b)) return false;
  // Cut to what the model reads: a long answer would hold the embedder for seconds (USE-lite grows with its square).
  const input = (t: string) => (embedder.inputLength ? t.slice(0, embedder.inputLength(t)) : t);
  const [u, v] = await embedder.embed([input(a), input(b)]);
  let dot = 0;
  for (let i = 0; i < u!.length; i++) dot += u![i]! * v![i]!;
  return dot >= ANSWER_AGREEMENT;
}
