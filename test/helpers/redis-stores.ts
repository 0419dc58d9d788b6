/**
 * @module test/helpers/redis-stores: what every RedisStore test file needs: a fresh key prefix per store family (so
 * tests never see each other's keys), stores started and synced on the file's Redis, closed after each test, and
 * entries to put in them.
 */
import { afterEach } from 'vitest';

import { silentLogger } from '../../src/observe/logger.js';
import { RedisStore } from '../../src/store/redis.js';
import type { Entry } from '../../src/store/types.js';

export type StoreOptions = ConstructorParameters<typeof RedisStore>[0];

export interface RedisStores {
  /** a key prefix no other store of this process has used */
  newPrefix(): string;
  /**
   * Start a store with the file's defaults and `opts`, and wait for its first sync.
   * @param how.synced wait for synced() @default true
   * @param how.track close it after the test @default true (false: the test closes it, e.g. before stopping Redis)
   */
  start(opts: Partial<StoreOptions> & { prefix: string }, how?: { synced?: boolean; track?: boolean }): Promise<RedisStore>;
}

/**
 * Call at the top of a test file. `defaults` is read at each start (the Redis URL is known only once beforeAll ran);
 * every store also gets a silent logger and a 1 s command timeout unless the defaults or the call say otherwise.
 */
export function redisStores(stem: string, defaults: () => Omit<Partial<StoreOptions>, 'prefix'> & { url: string }): RedisStores {
  let prefixes = 0;
  const open: RedisStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });
  return {
    newPrefix: () => `${stem}${process.pid}-${++prefixes}`,
    async start(opts, how = {}) {
      const store = new RedisStore({ timeoutMs: 1_000, logger: silentLogger, ...defaults(), ...opts });
      if (how.track !== false) open.push(store);
      await store.start();
      if (how.synced !== false) await store.synced();
      return store;
    },
  };
}

/** A chat entry numbered `n` (scope `scope-<n>`, answer `answer <n>`, live for a minute), with `over` on top. */
export function storeEntry(n: number, over: Partial<Entry> = {}): Entry {
  const now = Date.now();
  return {
    id: `e${n}`,
    scope: `scope-${n}`,
    textKey: `question ${n}?`,
    text: `Question ${n}?`,
    response: { id: `chatcmpl-${n}`, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: `answer ${n}` } }] },
    endpoint: 'chat',
    model: 'gpt-4o-mini',
    tenant: 'tenant-1',
    namespace: 'default',
    createdAt: now,
    expiresAt: now + 60_000,
    ...over,
  };
}
