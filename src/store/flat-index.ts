/** @module store/flat-index: exact scan over packed unit vectors. Exact recall, and fastest while a scope is small. */
import type { VectorIndex } from './types.js';

export class FlatIndex implements VectorIndex {
  private data: Float32Array;
  private keys: number[] = [];
  private readonly slotOf = new Map<number, number>();

  constructor(
    private readonly dim: number,
    capacity = 64,
  ) {
    this.data = new Float32Array(dim * capacity);
  }

  get size(): number {
    return this.keys.length;
  }

  add(key: number, vector: Float32Array): void {
    if (vector.length !== this.dim) throw new Error(`vector has ${vector.length} dimensions, index has ${this.dim}`);
    this.remove(key);
    const slot = this.keys.length;
    if ((slot + 1) * this.dim > this.data.length) {
      const grown = new Float32Array(Math.max(this.data.length * 2, this.dim * 16));
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(vector, slot * this.dim);
    this.keys.push(key);
    this.slotOf.set(key, slot);
  }

  /** O(1): the last vector moves into the freed slot. */
  remove(key: number): void {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return;
    const last = this.keys.length - 1;
    if (slot !== last) {
      this.data.copyWithin(slot * this.dim, last * this.dim, (last + 1) * this.dim);
      const moved = this.keys[last]!;
      this.keys[slot] = moved;
      this.slotOf.set(moved, slot);
    }
    this.keys.pop();
    this.slotOf.delete(key);
  }

  search(vector: Float32Array, k: number): Array<{ key: number; score: number }> {
    if (vector.length !== this.dim) throw new Error(`query has ${vector.length} dimensions, index has ${this.dim}`);
    const { dim, data } = this;
    const n = this.keys.length;
    const top: Array<{ key: number; score: number }> = [];
    for (let s = 0; s < n; s++) {
      const off = s * dim;
      // Four accumulators let the JIT overlap the multiply-adds.
      let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
      let i = 0;
      for (; i + 3 < dim; i += 4) {
        d0 += data[off + i]! * vector[i]!;
        d1 += data[off + i + 1]! * vector[i + 1]!;
        d2 += data[off + i + 2]! * vector[i + 2]!;
        d3 += data[off + i + 3]! * vector[i + 3]!;
      }
      for (; i < dim; i++) d0 += data[off + i]! * vector[i]!;
      const dot = d0 + d1 + d2 + d3;
      if (top.length < k) {
        top.push({ key: this.keys[s]!, score: dot });
        top.sort((a, b) => b.score - a.score);
      } else if (dot > top[k - 1]!.score) {
        top[k - 1] = { key: this.keys[s]!, score: dot };
        top.sort((a, b) => b.score - a.score);
      }
    }
    return top;
  }

  *entries(): Iterable<[number, Float32Array]> {
    for (let s = 0; s < this.keys.length; s++) yield [this.keys[s]!, this.data.slice(s * this.dim, (s + 1) * this.dim)];
  }
}
