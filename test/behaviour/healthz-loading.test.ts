/**
 * /healthz reports when the embedder is ready, and requests pass through while it loads. Split from
 * embeddings-health.test.ts: it hands the front an embedder that is still loading, which a Worker never has (its
 * embedder is the Workers AI binding, there at once).
 */
import { describe, expect, it } from 'vitest';
import { startFront } from '../helpers/front.js';
import type { Embedder } from '../../src/embed/types.js';
import { bundledEmbedder, useHarness } from '../helpers/harness.js';

const h = useHarness();

describe('/healthz', () => {
  it('answers 503 while the embedder loads and 200 once it has, and requests pass through meanwhile', async () => {
    let resolve!: (e: Embedder) => void;
    const pending = new Promise<Embedder>((r) => (resolve = r));
    // startHarness waits for readiness, so this server is started by hand.
    const { parseConfig } = await import('../../src/config.js');
    const { silentLogger } = await import('../../src/observe/logger.js');
    const r = await startFront(parseConfig({ port: '0', host: '127.0.0.1', upstream: h.up.url, 'log-level': 'silent' }, {}), { embedder: pending, logger: silentLogger });
    try {
      const before = await fetch(`${r.url}/healthz`);
      expect(before.status).toBe(503);
      const during = await fetch(`${r.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-x' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] }),
      });
      expect(during.status).toBe(200);
      expect(during.headers.get('x-cache-status')).toBe('BYPASS');
      expect(during.headers.get('x-cache-reason')).toBe('warming-up');
      resolve(await bundledEmbedder());
      await r.ready;
      const after = await fetch(`${r.url}/healthz`);
      expect(after.status).toBe(200);
      expect(await after.json()).toEqual({ status: 'ok', embedder: 'bundled/use-lite@1', store: 'ready' });
    } finally {
      await r.close();
    }
  });
});
