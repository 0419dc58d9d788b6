/** Seeded random unit vectors, so index tests reproduce. */

/** mulberry32: a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A direction uniform on the sphere (Gaussian components, Box-Muller). */
export function randomUnit(dim: number, rand: () => number): Float32Array {
  const v = new Float32Array(dim);
  let sum = 0;
  for (let i = 0; i < dim; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    v[i] = g;
    sum += g * g;
  }
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < dim; i++) v[i]! *= inv;
  return v;
}

/** e_i in `dim` dimensions */
export function axis(i: number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  v[i] = 1;
  return v;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** `base` turned towards `dir` (any direction but its own), to cosine `cos` with it: a paraphrase of a stored question. */
export function toward(base: Float32Array, cos: number, dir: Float32Array): Float32Array {
  const d = dot(dir, base);
  const perp = dir.map((x, i) => x - d * base[i]!);
  const pn = Math.hypot(...perp);
  const s = Math.sqrt(1 - cos * cos);
  return base.map((x, i) => cos * x + (s * perp[i]!) / pn);
}
