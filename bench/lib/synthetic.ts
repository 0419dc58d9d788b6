/**
 * Deterministic synthetic "sentence embeddings" for bench/scale.ts and bench/hnsw-sweep.ts: a shared mean direction,
 * topic centroids with Zipf(0.5) popularity, and per-vector isotropic noise; plus near-duplicates of stored vectors.
 */

/** sfc32: fast, seedable, good enough for synthetic data */
export function rng(seed: number) {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

/** Standard normal samples by lookup in a table of 2^16 Box-Muller draws: ~10x faster than Box-Muller itself. */
const GAUSS = (() => {
  const r = rng(7);
  const t = new Float32Array(65536);
  for (let i = 0; i < t.length; i += 2) {
    const u = (r() + 1) / 4294967297, v = r() / 4294967296;
    const m = Math.sqrt(-2 * Math.log(u));
    t[i] = m * Math.cos(2 * Math.PI * v);
    t[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return t;
})();

export function fillGauss(out: Float32Array, off: number, n: number, scale: number, r: () => number): void {
  for (let i = 0; i < n; i += 2) {
    const x = r();
    out[off + i] += scale * GAUSS[x & 0xffff]!;
    if (i + 1 < n) out[off + i + 1] += scale * GAUSS[x >>> 16]!;
  }
}

export function normaliseRow(m: Float32Array, row: number, dim: number): void {
  let s = 0;
  const o = row * dim;
  for (let i = 0; i < dim; i++) s += m[o + i]! * m[o + i]!;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < dim; i++) m[o + i] *= inv;
}

/** What a generated vector is made of, for diagnostics. */
export interface VectorMeta {
  topic: Int32Array;
  /** the noise scale drawn for the vector (0.7–1.3 before the 1/sqrt(dim)) */
  noise: Float32Array;
}

/**
 * Sentence-embedding-like vectors: a shared mean direction (embeddings are anisotropic), `topics` topic centroids
 * with Zipf(0.5) popularity, and per-vector noise. Cosine ≈ 0.1 across topics, ≈ 0.55 within one.
 */
export class Generator {
  private readonly centroids: Float32Array;
  private readonly cdf: Float64Array;
  /** `noiseSpread`: per-vector noise scales are drawn from 1 ± spread/2 (0.7–1.3 by default) */
  constructor(private readonly dim: number, readonly topics = 1000, private readonly noiseSpread = 0.6) {
    const r = rng(1);
    this.centroids = new Float32Array((topics + 1) * dim); // row 0: the shared mean direction
    for (let t = 0; t <= topics; t++) {
      fillGauss(this.centroids, t * dim, dim, 1, r);
      normaliseRow(this.centroids, t, dim);
    }
    this.cdf = new Float64Array(topics);
    let acc = 0;
    for (let t = 0; t < topics; t++) this.cdf[t] = acc += 1 / Math.sqrt(t + 1);
    for (let t = 0; t < topics; t++) this.cdf[t]! /= acc;
  }
  /** n fresh vectors from stream `seed` */
  vectors(n: number, seed: number, meta?: VectorMeta): Float32Array {
    const { dim, centroids, cdf } = this;
    const r = rng(seed);
    const out = new Float32Array(n * dim);
    for (let v = 0; v < n; v++) {
      const u = r() / 4294967296;
      let lo = 0, hi = cdf.length - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid]! < u) lo = mid + 1; else hi = mid; }
      const o = v * dim, c = (lo + 1) * dim;
      for (let i = 0; i < dim; i++) out[o + i] = 0.47 * centroids[i]! + centroids[c + i]!;
      const noise = 1 - this.noiseSpread / 2 + this.noiseSpread * (r() / 4294967296);
      if (meta) { meta.topic[v] = lo; meta.noise[v] = noise; }
      fillGauss(out, o, dim, noise / Math.sqrt(dim), r);
      normaliseRow(out, v, dim);
    }
    return out;
  }
}

/** Near-duplicates of random stored vectors at cosine 0.90–0.99 to their source, i.e. around the hit thresholds. */
export function nearDuplicates(data: Float32Array, n: number, dim: number, seed: number) {
  const r = rng(seed);
  const count = data.length / dim;
  const out = new Float32Array(n * dim);
  const source = new Int32Array(n);
  for (let q = 0; q < n; q++) {
    const s = (source[q] = r() % count);
    out.set(data.subarray(s * dim, (s + 1) * dim), q * dim);
    const cos = 0.9 + 0.09 * (r() / 4294967296);
    fillGauss(out, q * dim, dim, Math.sqrt((1 / (cos * cos) - 1) / dim), r);
    normaliseRow(out, q, dim);
  }
  return { vectors: out, source };
}
