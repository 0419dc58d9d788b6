/** @module cache/verifier/mlp: a one-hidden-layer perceptron whose weights ship as data. Inference only. */

export interface MlpWeights {
  /** what the weights were trained for, e.g. "bundled/use-lite@1" */
  embedder: string;
  inputs: number;
  hidden: number;
  /** per-input standardisation */
  mean: number[];
  std: number[];
  /** hidden × inputs, row-major */
  w1: number[];
  b1: number[];
  w2: number[];
  b2: number;
}

export class Mlp {
  private readonly w1: Float32Array;
  private readonly b1: Float32Array;
  private readonly w2: Float32Array;
  private readonly mean: Float32Array;
  private readonly inv: Float32Array;

  constructor(readonly weights: MlpWeights) {
    this.w1 = Float32Array.from(weights.w1);
    this.b1 = Float32Array.from(weights.b1);
    this.w2 = Float32Array.from(weights.w2);
    this.mean = Float32Array.from(weights.mean);
    this.inv = Float32Array.from(weights.std, (s) => 1 / (s || 1));
  }

  /** Probability that the pair is a true match. */
  predict(x: Float32Array): number {
    const { inputs, hidden } = this.weights;
    const z = new Float32Array(inputs);
    for (let i = 0; i < inputs; i++) z[i] = (x[i]! - this.mean[i]!) * this.inv[i]!;
    let out = this.weights.b2;
    for (let h = 0; h < hidden; h++) {
      let s = this.b1[h]!;
      const row = h * inputs;
      for (let i = 0; i < inputs; i++) s += this.w1[row + i]! * z[i]!;
      if (s > 0) out += s * this.w2[h]!;
    }
    return 1 / (1 + Math.exp(-out));
  }
}
