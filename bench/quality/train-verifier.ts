/**
 * Trains the learned verifier for the bundled USE-lite embedder and picks its operating point.
 *
 *   npx tsx bench/quality/train-verifier.ts
 *
 * Data discipline (bench/quality/split.ts): it learns from the qqp tune split and qqp-train, without any pair that
 * shares a question with the qqp test split, and from the half of paraphrase-easy that bench/quality/run.ts does not
 * report on (paraphrase-style examples, so it stops rejecting plain paraphrases). Each of the two is divided by a
 * hash of each pair into `fit` (80%) and `calib` (20%): the model learns on fit, its cut-off is chosen on calib, and
 * neither the qqp test split nor the held-out half of paraphrase-easy is looked at here.
 * Examples are what the verifier sees in service: each `b` is replayed through the matching path against a shared
 * cache of every `a` of its set; every candidate above the cosine floor becomes an example, positive only when it
 * is the query's own pair and that pair is labelled a duplicate.
 *
 * EASY_WEIGHT (default 4) repeats each paraphrase example, since they are few beside the Quora ones; TARGET (0.85)
 * is the precision the operating point must reach on qqp calib; HIDDEN, EPOCHS, L2 shape the network.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pairFeatures, sameContent, sameWords, TEXT_FEATURES } from '../../src/cache/verifier/features.js';
import { Mlp, type MlpWeights } from '../../src/cache/verifier/mlp.js';
import { failedHardGuard, SAME_CONTENT_MIN, type VerifierModel } from '../../src/cache/verify.js';
import { embedSentences, isCached, writeSubsetCache } from './embed-cache.js';
import { replay, score, type Query } from './matching-path.js';
import { DATA_DIR, fnv1a32, fullSentences, isEasyTestPair, loadPairs, trainingPairs, trainingSentences } from './split.js';

const FLOOR = 0.7;
const HIDDEN = Number(process.env.HIDDEN ?? 16);
const EPOCHS = Number(process.env.EPOCHS ?? 3);
const TARGET_PRECISION = Number(process.env.TARGET ?? 0.85);
const EASY_WEIGHT = Number(process.env.EASY_WEIGHT ?? 4);
const OUT = process.env.OUT ?? resolve(import.meta.dirname, '../../src/cache/verifier/use-lite.json');

/** Deterministic PRNG so a retrain gives the same weights. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Example {
  x: Float32Array;
  y: number;
}

function examples(queries: Query[], vec: (s: string) => Float32Array): Example[] {
  const out: Example[] = [];
  for (const q of queries) {
    if (q.exact) continue;
    const best = q.candidates[0]?.score ?? 0;
    q.candidates.forEach((c, rank) => {
      if (c.score < FLOOR || failedHardGuard(q.pair.b, c.entry.text)) return;
      const y = q.pair.label === 1 && c.entry.text === q.pair.a ? 1 : 0;
      out.push({ x: pairFeatures(q.pair.b, vec(q.pair.b), c.entry.text, vec(c.entry.text), c.score, rank, best - c.score), y });
    });
  }
  return out;
}

function train(data: Example[]): MlpWeights {
  const n = data.length;
  const d = data[0]!.x.length;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (const { x } of data) {
    for (let i = 0; i < d; i++) {
      mean[i]! += x[i]!;
      sq[i]! += x[i]! * x[i]!;
    }
  }
  const std = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    mean[i]! /= n;
    std[i] = Math.sqrt(Math.max(sq[i]! / n - mean[i]! ** 2, 1e-8));
  }
  const z = data.map(({ x }) => Float32Array.from(x, (v, i) => (v - mean[i]!) / std[i]!));
  const rand = rng(7);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const H = HIDDEN;
  const w1 = Float32Array.from({ length: H * d }, () => gauss() * Math.sqrt(2 / d));
  const b1 = new Float32Array(H);
  const w2 = Float32Array.from({ length: H }, () => gauss() * Math.sqrt(1 / H));
  let b2 = 0;
  // Adam state
  const params = [w1, b1, w2];
  const m = params.map((p) => new Float32Array(p.length));
  const v = params.map((p) => new Float32Array(p.length));
  let mb2 = 0;
  let vb2 = 0;
  const lr = 1e-3;
  const l2 = Number(process.env.L2 ?? 1e-3);
  const B = 64;
  let step = 0;
  const order = Array.from({ length: n }, (_, i) => i);
  const h = new Float32Array(H);
  const g = params.map((p) => new Float32Array(p.length));
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let loss = 0;
    for (let start = 0; start < n; start += B) {
      for (const gg of g) gg.fill(0);
      let gb2 = 0;
      const end = Math.min(n, start + B);
      for (let k = start; k < end; k++) {
        const x = z[order[k]!]!;
        const y = data[order[k]!]!.y;
        let out = b2;
        for (let hh = 0; hh < H; hh++) {
          let s = b1[hh]!;
          const row = hh * d;
          for (let i = 0; i < d; i++) s += w1[row + i]! * x[i]!;
          h[hh] = s > 0 ? s : 0;
          out += h[hh]! * w2[hh]!;
        }
        const p = 1 / (1 + Math.exp(-out));
        loss += -(y * Math.log(p + 1e-9) + (1 - y) * Math.log(1 - p + 1e-9));
        const dout = p - y;
        gb2 += dout;
        for (let hh = 0; hh < H; hh++) {
          g[2]![hh]! += dout * h[hh]!;
          if (h[hh]! <= 0) continue;
          const dh = dout * w2[hh]!;
          g[1]![hh]! += dh;
          const row = hh * d;
          for (let i = 0; i < d; i++) g[0]![row + i]! += dh * x[i]!;
        }
      }
      step++;
      const bs = end - start;
      const c1 = 1 - 0.9 ** step;
      const c2 = 1 - 0.999 ** step;
      params.forEach((p, pi) => {
        const gp = g[pi]!;
        const mp = m[pi]!;
        const vp = v[pi]!;
        for (let i = 0; i < p.length; i++) {
          const grad = gp[i]! / bs + (pi === 1 ? 0 : l2 * p[i]!);
          mp[i] = 0.9 * mp[i]! + 0.1 * grad;
          vp[i] = 0.999 * vp[i]! + 0.001 * grad * grad;
          p[i]! -= (lr * (mp[i]! / c1)) / (Math.sqrt(vp[i]! / c2) + 1e-8);
        }
      });
      const gr = gb2 / bs;
      mb2 = 0.9 * mb2 + 0.1 * gr;
      vb2 = 0.999 * vb2 + 0.001 * gr * gr;
      b2 -= (lr * (mb2 / c1)) / (Math.sqrt(vb2 / c2) + 1e-8);
    }
    console.error(`epoch ${epoch + 1}/${EPOCHS}: loss ${(loss / n).toFixed(4)}`);
  }
  const round = (a: ArrayLike<number>) => Array.from(a, (x) => Math.round(x * 1e5) / 1e5);
  return { embedder: 'bundled/use-lite@1', inputs: d, hidden: H, mean: round(mean), std: round(std), w1: round(w1), b1: round(b1), w2: round(w2), b2: Math.round(b2 * 1e5) / 1e5 };
}

const t0 = Date.now();
const { pairs: qqpPairs, dropped } = trainingPairs();
const easyTrain = loadPairs(resolve(DATA_DIR, 'paraphrase-easy.jsonl')).filter((p) => !isEasyTestPair(p));
const table = await embedSentences(trainingSentences());
// The evaluation runs read a cache of their own sentences: write it from this one rather than embed them again.
if (!isCached(fullSentences())) console.error(`wrote ${writeSubsetCache(table, fullSentences())}`);
const isCalibPair = (p: { a: string; b: string }) => fnv1a32(`${p.a}\u0001${p.b}`) % 5 === 0;
const vec = (s: string) => {
  const r = table.rowOf(s);
  return table.vectors.subarray(r * table.dim, (r + 1) * table.dim);
};
const isCalib = (q: Query) => isCalibPair(q.pair);
const qqpQ = await replay(qqpPairs, table);
const easyQ = await replay(easyTrain, table);
const fitQ = qqpQ.filter((q) => !isCalib(q));
const easyFitQ = easyQ.filter((q) => !isCalib(q));
const calibQ = qqpQ.filter(isCalib);
const easyCalibQ = easyQ.filter(isCalib);
const qqpEx = examples(fitQ, vec);
const easyEx = examples(easyFitQ, vec);
console.error(
  `${qqpPairs.length} qqp pairs (${dropped} dropped: they share a question with the test split), ${easyTrain.length} paraphrase-easy pairs; ` +
    `${qqpEx.length} qqp examples (${qqpEx.filter((e) => e.y).length} positive), ${easyEx.length} paraphrase examples ×${EASY_WEIGHT}; ` +
    `calibration: ${calibQ.length} qqp and ${easyCalibQ.length} paraphrase queries`,
);
const weights = train([...qqpEx, ...Array.from({ length: EASY_WEIGHT }, () => easyEx).flat()]);
const mlp = new Mlp(weights);

/** Each candidate's probability, computed once; then the production rule (src/cache/verify.ts) at any cut. */
const probs = new Map<Query, number[]>();
for (const q of [...calibQ, ...easyCalibQ]) {
  const best = q.candidates[0]?.score ?? 0;
  probs.set(
    q,
    q.candidates.map((c, rank) =>
      c.score < FLOOR || failedHardGuard(q.pair.b, c.entry.text)
        ? -1
        : mlp.predict(pairFeatures(q.pair.b, vec(q.pair.b), c.entry.text, vec(c.entry.text), c.score, rank, best - c.score)),
    ),
  );
}
/** The production rule (verify() in src/cache/verify.ts) over the precomputed probabilities. */
function decide(q: Query, cut: number, acceptAbove: number) {
  if (q.exact) return q.candidates[0];
  const p = probs.get(q)!;
  let at = -1;
  for (let i = 0; i < p.length; i++) {
    if (p[i]! < 0) continue;
    const c = q.candidates[i]!;
    if (at < 0 && (c.score >= acceptAbove || sameWords(q.pair.b, c.entry.text) || (c.score >= SAME_CONTENT_MIN && sameContent(q.pair.b, c.entry.text)))) return c;
    if (p[i]! >= cut && (at < 0 || p[i]! > p[at]!)) at = i;
  }
  return at < 0 ? undefined : q.candidates[at];
}

// The operating point: the cut and the cosine from which the guards alone decide, chosen together on calibration
// data: the most recall on qqp and paraphrases together whose qqp precision reaches the target.
type Point = { cut: number; acceptAbove: number; precision: number; recall: number; hitRatio: number; easyRecall: number };
const points: Point[] = [];
// Never the network alone near identity: it is not monotone in similarity, and near-identical texts are the
// guards' to tell apart (a number, a name, a negation), so only the cosine from which they decide alone is chosen.
for (const acceptAbove of [0.97, 0.98, 0.99]) {
  for (let cut = 0.3; cut <= 0.991; cut += 0.01) {
    const o = score(calibQ, (q) => decide(q, cut, acceptAbove));
    const e = score(easyCalibQ, (q) => decide(q, cut, acceptAbove));
    points.push({ cut: Math.round(cut * 100) / 100, acceptAbove, precision: o.precision, recall: o.recall, hitRatio: o.hitRatio, easyRecall: e.recall });
  }
}
const ok = points.filter((r) => r.precision >= TARGET_PRECISION);
const chosen = ok.sort((a, b) => b.recall + b.easyRecall - (a.recall + a.easyRecall))[0] ?? points[points.length - 1]!;
const show = (r: Point) => `cut ${r.cut.toFixed(2)}, guards alone from ${r.acceptAbove}: qqp calib P ${r.precision.toFixed(3)} R ${r.recall.toFixed(3)}, paraphrase calib R ${r.easyRecall.toFixed(3)}`;
for (const r of points.filter((x, i) => i % 10 === 0 && x.acceptAbove === chosen.acceptAbove)) console.error(show(r));
console.error(`chosen: ${show(chosen)}`);

const model: VerifierModel = {
  floor: FLOOR,
  cut: chosen.cut,
  acceptAbove: chosen.acceptAbove,
  mlp: weights,
  trainedOn: `qqp-dev tune split + qqp-train without pairs sharing a question with the test split, the training half of paraphrase-easy (80% fit, 20% calibration; cut and acceptAbove for the most qqp + paraphrase calibration recall at qqp calibration precision >= ${TARGET_PRECISION}); qqp test split and paraphrase-easy's other half held out`,
  textFeatures: TEXT_FEATURES,
};
writeFileSync(OUT, JSON.stringify(model));
console.error(`wrote ${OUT} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
