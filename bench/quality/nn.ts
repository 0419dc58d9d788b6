/**
 * Exact (brute-force) nearest neighbour by dot product: for every query row,
 * the key row with the highest dot product and that score. Plain typed-array
 * loops, split across worker threads over SharedArrayBuffers.
 *
 * Scores are accumulated in float64 in ascending dimension order, exactly as
 * `dotRows` in embed-cache.ts does, so the two agree bit for bit. Ties go to
 * the lowest key index.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

export interface Nearest {
  /** Best key row per query. */
  index: Int32Array;
  /** Dot product with that key. */
  score: Float64Array;
}

// Worker source as plain JS so it runs without a TypeScript loader.
// 4 queries × 2 keys per inner loop: each loaded value feeds several products.
// Running bests live in the shared output arrays between key tiles.
const KERNEL = /* js */ `
const { workerData, parentPort } = require("node:worker_threads");
const { q, k, outIdx, outScore, dim, nk, lo, hi } = workerData;
const Q = new Float64Array(q), K = new Float64Array(k);
const I = new Int32Array(outIdx), S = new Float64Array(outScore);
for (let i = lo; i < hi; i++) { I[i] = -1; S[i] = -Infinity; }
// Key tiles small enough to stay in L2 while every query streams past them.
const TILE = 128;
for (let j0 = 0; j0 < nk; j0 += TILE) {
  const j1 = Math.min(nk, j0 + TILE);
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const o0 = i * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim;
    let b0 = S[i], b1 = S[i + 1], b2 = S[i + 2], b3 = S[i + 3];
    let i0 = I[i], i1 = I[i + 1], i2 = I[i + 2], i3 = I[i + 3];
    let j = j0;
    for (; j + 2 <= j1; j += 2) {
      const ka = j * dim, kb = ka + dim;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
      for (let d = 0; d < dim; d++) {
        const x = K[ka + d], y = K[kb + d];
        const q0 = Q[o0 + d], q1 = Q[o1 + d], q2 = Q[o2 + d], q3 = Q[o3 + d];
        s0 += q0 * x; s1 += q1 * x; s2 += q2 * x; s3 += q3 * x;
        t0 += q0 * y; t1 += q1 * y; t2 += q2 * y; t3 += q3 * y;
      }
      if (s0 > b0) { b0 = s0; i0 = j; } if (t0 > b0) { b0 = t0; i0 = j + 1; }
      if (s1 > b1) { b1 = s1; i1 = j; } if (t1 > b1) { b1 = t1; i1 = j + 1; }
      if (s2 > b2) { b2 = s2; i2 = j; } if (t2 > b2) { b2 = t2; i2 = j + 1; }
      if (s3 > b3) { b3 = s3; i3 = j; } if (t3 > b3) { b3 = t3; i3 = j + 1; }
    }
    for (; j < j1; j++) {
      const ka = j * dim; let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let d = 0; d < dim; d++) {
        const x = K[ka + d];
        s0 += Q[o0 + d] * x; s1 += Q[o1 + d] * x; s2 += Q[o2 + d] * x; s3 += Q[o3 + d] * x;
      }
      if (s0 > b0) { b0 = s0; i0 = j; } if (s1 > b1) { b1 = s1; i1 = j; }
      if (s2 > b2) { b2 = s2; i2 = j; } if (s3 > b3) { b3 = s3; i3 = j; }
    }
    I[i] = i0; S[i] = b0; I[i + 1] = i1; S[i + 1] = b1;
    I[i + 2] = i2; S[i + 2] = b2; I[i + 3] = i3; S[i + 3] = b3;
  }
  for (; i < hi; i++) {
    const o = i * dim; let b = S[i], bi = I[i];
    for (let j = j0; j < j1; j++) {
      const ko = j * dim; let s = 0;
      for (let d = 0; d < dim; d++) s += Q[o + d] * K[ko + d];
      if (s > b) { b = s; bi = j; }
    }
    I[i] = bi; S[i] = b;
  }
}
parentPort.postMessage("done");
`;

function shared(src: Float32Array): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(src.length * 8);
  new Float64Array(sab).set(src); // float32 -> float64 is exact
  return sab;
}

/**
 * `queries` is nq × dim, `keys` is nk × dim (row-major). Returns, for each
 * query, the argmax over keys of the dot product.
 */
export async function nearestByDot(
  queries: Float32Array,
  keys: Float32Array,
  dim: number,
  threads = Math.max(1, Math.min(availableParallelism(), 8)),
): Promise<Nearest> {
  const nq = queries.length / dim;
  const nk = keys.length / dim;
  if (!Number.isInteger(nq) || !Number.isInteger(nk)) throw new Error("matrix size is not a multiple of dim");
  if (nk === 0) throw new Error("no keys");
  const q = shared(queries);
  const k = shared(keys);
  const outIdx = new SharedArrayBuffer(nq * 4);
  const outScore = new SharedArrayBuffer(nq * 8);
  const per = Math.ceil(nq / threads / 4) * 4;
  const jobs: Promise<void>[] = [];
  for (let lo = 0; lo < nq; lo += per) {
    const hi = Math.min(nq, lo + per);
    const w = new Worker(KERNEL, { eval: true, workerData: { q, k, outIdx, outScore, dim, nk, lo, hi } });
    jobs.push(
      new Promise<void>((res, rej) => {
        w.once("message", () => res());
        w.once("error", rej);
        w.once("exit", (code) => (code === 0 ? res() : rej(new Error(`nn worker exited with ${code}`))));
      }),
    );
  }
  await Promise.all(jobs);
  return { index: new Int32Array(outIdx), score: new Float64Array(outScore) };
}
