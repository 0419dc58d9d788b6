/**
 * A fault or bug inside the leader's semantic lookup (here: verify() on a candidate whose text the store lost) fails
 * open with X-Cache-Status: ERROR, and ends the single-flight, so a later identical request is answered rather than
 * left waiting on a flight nobody ends.
 */
import { describe, expect, it, vi } from 'vitest';
import { createHandler } from '../src/handle.js';
import { TOO_LARGE, type HeaderList, type RequestView } from '../src/http/types.js';
import type { Outcome } from '../src/cache/outcome.js';
import { silentLogger } from '../src/observe/logger.js';
import { MemoryStore } from '../src/store/memory.js';
import type { Candidate } from '../src/store/types.js';
import { SyntheticEmbedder } from './helpers/synthetic-embedder.js';

const enc = new TextEncoder();

function view(body: string): RequestView {
  const list: HeaderList = [['authorization', 'Bearer sk-1'], ['content-type', 'application/json']];
  return {
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { get: (n) => list.find(([k]) => k === n)?.[1], list: () => list.map(([k, v]) => [k, v]) },
    readBody: async (limit) => (body.length > limit ? TOO_LARGE : enc.encode(body)),
  };
}

/** A store whose vector search returns a record that lost its text (a corrupt or half-written entry). */
class CorruptSearchStore extends MemoryStore {
  override async search(): Promise<Candidate[]> {
    const now = Date.now();
    const entry = { id: 'x.y', scope: 'x', textKey: 'y', response: {}, endpoint: 'chat', model: 'gpt-4o-mini', tenant: 't', namespace: '', createdAt: now, expiresAt: now + 60_000 };
    return [{ entry: entry as unknown as Candidate['entry'], score: 0.95 }];
  }
}

describe('a bug or fault inside the leader\'s semantic lookup', () => {
  const handler = createHandler({
    config: { upstream: 'https://api.openai.com/v1', cacheEnabled: true, sharedCache: false, ttl: 3600, bodyLimit: 1 << 20 },
    store: new CorruptSearchStore(),
    embedder: (() => {
      const e = new SyntheticEmbedder();
      return () => e;
    })(),
    upstream: async () => {
      throw new Error('not used');
    },
    logger: silentLogger,
  });
  const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'how do i bake bread' }] });

  it('fails open: the request goes upstream with X-Cache-Status: ERROR', async () => {
    const o = await handler.handle(view(BODY));
    expect(o.kind, o.kind === 'reject' ? String(o.reply.body) : '').toBe('forward');
  });

  it('leaves no flight behind: the identical request after it is answered, not left waiting', async () => {
    let second: Outcome | undefined;
    void handler.handle(view(BODY)).then((o) => (second = o));
    await vi.waitFor(() => expect(second, 'still waiting on the flight of a request that ended long ago').toBeDefined(), { timeout: 5_000 });
  });
});
