/**
 * @module embed/load: pick the embedder at start-up. transformers.js first; when its model cannot be had
 * (offline, no cache), the bundled USE-lite model, with a warning. Then memo and micro-batching on top.
 */
import type { Logger } from '../observe/logger.js';
import { BatchingEmbedder } from './batcher.js';
import { MemoEmbedder } from './memo.js';
import { loadTransformers } from './transformers.js';
import type { Embedder } from './types.js';
import { loadUseLiteThread, UseLiteThreads } from './use-lite-thread.js';

/** `--embed-model bundled` skips transformers.js and uses the offline model directly. */
export const BUNDLED = 'bundled';

export interface LoadOptions {
  model: string;
  cacheDir: string;
  logger: Logger;
  /** worker threads for the bundled model, each with its own copy of it @default os.availableParallelism() */
  threads?: number;
}

export async function loadEmbedder({ model, cacheDir, logger, threads }: LoadOptions): Promise<Embedder> {
  let base: Embedder;
  // USE-lite runs on worker threads, so that its embeddings do not stall the server's thread (use-lite-thread.ts).
  if (model === BUNDLED) {
    base = await loadUseLiteThread({ threads });
  } else {
    try {
      base = await loadTransformers({ model, cacheDir });
    } catch (err) {
      logger.warn(
        { model, err: err instanceof Error ? err.message : String(err) },
        'embedding model could not be loaded; falling back to the bundled offline model (USE-lite)',
      );
      base = await loadUseLiteThread({ threads });
    }
  }
  // Model calls the batcher may have in flight at once: one per worker thread, so that every thread has work while
  // requests queue. transformers.js runs in this thread, one call at a time.
  const concurrency = base instanceof UseLiteThreads ? base.threads : 1;
  logger.info({ embedder: base.id, dim: base.dim, threshold: base.defaultThreshold, ...(base instanceof UseLiteThreads && { threads: base.threads }) }, 'embedder ready');
  // Memo outside the batcher: a remembered text never waits in the batch queue. USE-lite pads each batch to its
  // longest sentence, so small batches serve it best (bench/embed.ts: batches of 4 gave 1.66x the rate of 64).
  return new MemoEmbedder(new BatchingEmbedder(base, base.id.startsWith('bundled/') ? 4 : 32, concurrency));
}
