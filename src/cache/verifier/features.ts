/**
 * @module cache/verifier/features: what the learned verifier sees about a (query, candidate) pair.
 * A few textual signals (similarity, word overlaps, question words, function words that differ) plus the elementwise product and absolute difference of the two unit vectors, the
 * classic pair representation for sentence-embedding classifiers. Training (bench/quality/train-verifier.ts) and
 * serving use this one function, so they cannot drift apart.
 */

const STOP = new Set(
  'a an the is are was were be been being do does did of to in on at for from by with about as and or but if then than so that this these those it its i me my you your we our they their he she his her what which who whom whose when where why how can could should would will shall may might must have has had not no there here into over under more most some any all each other such only own same very just also'.split(' '),
);

/** Question words: two questions that share every content word can still ask different things ("how" vs "why"). */
const WH = new Set('how why what when where who whom whose which'.split(' '));

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** A crude stem, so "cook" and "cooking", "list" and "lists" count as one content word. */
const stem = (w: string) => (w.length > 4 ? w.replace(/(ing|ed|es|s)$/, '') : w);

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

/** The same words in the same order, whatever the case, spacing and punctuation: the same question. */
export function sameWords(a: string, b: string): boolean {
  const wa = words(a);
  const wb = words(b);
  return wa.length === wb.length && wa.every((w, i) => w === wb[i]);
}

/** Words that frame a request politely and ask nothing themselves. */
const COURTESY = new Set('hi hello hey please pls thanks thank thx kindly tell know wonder wondering like help quick question'.split(' '));
/** Pronoun fillers ("which one is better" / "which is better"); a count they might be, the number guard compares first. */
const FILLER = new Set(['one', 'ones']);

/**
 * The same request in other courtesy: the same content words (stemmed, courtesy words aside) and the same question
 * words. "Hi! How do I reset my password?" / "Could you please tell me how to reset my password?"
 */
export function sameContent(a: string, b: string): boolean {
  const content = (t: string) => new Set(words(t).filter((w) => !STOP.has(w) && !COURTESY.has(w) && !FILLER.has(w)).map(stem));
  const wh = (t: string) => new Set(words(t).filter((w) => WH.has(w)));
  const [ca, cb, wa, wb] = [content(a), content(b), wh(a), wh(b)];
  const same = (x: Set<string>, y: Set<string>) => x.size === y.size && [...x].every((w) => y.has(w));
  return ca.size > 0 && same(ca, cb) && same(wa, wb);
}

/** Number of textual features before the vector part. */
export const TEXT_FEATURES = 11;

/** Feature vector of length TEXT_FEATURES + 2 * dim. */
export function pairFeatures(query: string, q: Float32Array, candidate: string, c: Float32Array, cosine: number, rank: number, gapToBest: number): Float32Array {
  const wq = words(query);
  const wc = words(candidate);
  const sq = new Set(wq);
  const sc = new Set(wc);
  const cq = new Set(wq.filter((w) => !STOP.has(w)).map(stem));
  const cc = new Set(wc.filter((w) => !STOP.has(w)).map(stem));
  let onlyQ = 0;
  for (const w of cq) if (!cc.has(w)) onlyQ++;
  let onlyC = 0;
  for (const w of cc) if (!cq.has(w)) onlyC++;
  const dim = q.length;
  const f = new Float32Array(TEXT_FEATURES + 2 * dim);
  f[0] = cosine;
  f[1] = jaccard(sq, sc);
  f[2] = jaccard(cq, cc);
  f[3] = Math.min(onlyQ, 5) / 5;
  f[4] = Math.min(onlyC, 5) / 5;
  f[5] = Math.min(wq.length, wc.length) / Math.max(wq.length, wc.length, 1);
  // The guards run before the verifier and refuse any pair they catch, so their verdicts carry nothing here; these
  // say instead what differs between two texts whose content words agree.
  const whQ = wq.filter((w) => WH.has(w));
  const whC = new Set(wc.filter((w) => WH.has(w)));
  const whAgree = whQ.length === whC.size && whQ.every((w) => whC.has(w));
  let stopDiff = 0;
  for (const w of sq) if (STOP.has(w) && !WH.has(w) && !sc.has(w)) stopDiff++;
  for (const w of sc) if (STOP.has(w) && !WH.has(w) && !sq.has(w)) stopDiff++;
  let shared = 0;
  for (const w of cq) if (cc.has(w)) shared++;
  f[6] = whAgree ? 0 : 1;
  f[7] = whAgree && onlyQ === 0 && onlyC === 0 ? 1 : 0;
  f[8] = Math.min(stopDiff, 5) / 5;
  f[9] = Math.min(cq.size, cc.size) > 0 ? shared / Math.min(cq.size, cc.size) : 1;
  f[10] = rank / 3 + gapToBest;
  for (let i = 0; i < dim; i++) {
    f[TEXT_FEATURES + i] = q[i]! * c[i]! * dim;
    f[TEXT_FEATURES + dim + i] = Math.abs(q[i]! - c[i]!) * Math.sqrt(dim);
  }
  return f;
}
