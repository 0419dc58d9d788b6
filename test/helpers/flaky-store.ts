/**
 * @module test/helpers/flaky-store: the real MemoryStore with faults a test can switch on (exact reads, vector
 * searches) and a count of the vector searches made.
 */
import { MemoryStore } from '../../src/store/memory.js';
import type { Candidate, Entry } from '../../src/store/types.js';

export class FlakyStore extends MemoryStore {
  /** exact reads throw */
  failing = false;
  /** vector searches throw */
  searchFailing = false;
  /** vector searches made, to show a request is looked up once */
  searches = 0;

  override async getExact(scope: string, textKey: string): Promise<Entry | undefined> {
    if (this.failing) throw new Error('store down');
    return super.getExact(scope, textKey);
  }

  override async search(scope: string, vector: Float32Array, k: number): Promise<Candidate[]> {
    this.searches++;
    if (this.searchFailing) throw new Error('index down');
    return super.search(scope, vector, k);
  }
}
