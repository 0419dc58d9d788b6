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
      const grown = new Float32Array(this.data.length * 2);
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
    const { dim, data } = this;
    const n = this.keys.length;
    const top: Array<{ key: number; score: number }> = [];
    for (let s = 0; s < n; s++) {
      let dot = 0;
      const off = s * dim;
      for (let i = 0; i < dim; i++) dot += data[off + i]! * vector[i]!;
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
