/** A synthetic embedder for tests that must control how close two texts are. */
import { normalise, type Embedder } from '../../src/embed/types.js';
import { randomUnit, rng } from './vectors.js';

export const DIM = 48;

/** Vectors chosen by the test for known texts; any other text (e.g. an answer) gets a hash-seeded random one. */
export class SyntheticEmbedder implements Embedder {
  readonly id = 'synthetic-48';
  readonly dim = DIM;
  readonly defaultThreshold = 0.8;
  readonly known = new Map<string, Float32Array>();
  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.known.get(t) ?? randomUnit(DIM, rng(hash(t))));
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Lowercase letters only: the guards compare digits, number words and capitalised names, which this world must not
 * trip. Every word ends in "x", so the one English number word it could spell is "six" (n = 219), made "sixz".
 */
export function word(n: number): string {
  let s = '';
  do {
    s += String.fromCharCode(97 + (n % 26));
    n = Math.floor(n / 26);
  } while (n > 0);
  return s === 'si' ? 'sixz' : `${s}x`;
}

/** A unit vector at cosine `s` to `anchor`. */
export function at(anchor: Float32Array, s: number, r: () => number): Float32Array {
  const v = randomUnit(DIM, r);
  let d = 0;
  for (let i = 0; i < DIM; i++) d += v[i]! * anchor[i]!;
  const orth = normalise(v.map((x, i) => x - d * anchor[i]!));
  return normalise(anchor.map((a, i) => s * a + Math.sqrt(1 - s * s) * orth[i]!));
}

