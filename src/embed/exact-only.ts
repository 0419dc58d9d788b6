/**
 * @module embed/exact-only: the embedder of a runtime that has none (a Worker without Workers AI). Its zero
 * `exactOnly` tells the pipeline to key every request exact-only (the whole request in the scope), so nothing is ever
 * embedded and only repeats, as the key normalises them, are served.
 */
import type { Embedder } from './types.js';

export const EXACT_ONLY: Embedder = {
  id: 'exact-only',
  dim: 0,
  exactOnly: true,
  defaultThreshold: 1,
  embed: () => Promise.reject(new Error('exact-only: nothing is embedded')),
};
