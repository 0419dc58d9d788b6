/** Starts a fake upstream and a real Reprise server on free ports, and makes real `openai` SDK clients for them. */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { parseConfig } from '../../src/config.js';
import type { Embedder } from '../../src/embed/types.js';
import { loadUseLiteThread } from '../../src/embed/use-lite-thread.js';
import { MemoEmbedder } from '../../src/embed/memo.js';
import { BatchingEmbedder } from '../../src/embed/batcher.js';
import { silentLogger, type Logger } from '../../src/observe/logger.js';
import type { Running } from '../../src/node/server.js';
import { startFront } from './front.js';
import type { Store } from '../../src/store/types.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';

let useLite: Promise<Embedder> | undefined;
/** The bundled model in its worker thread, loaded once per test file, wrapped as production wraps it. */
export function bundledEmbedder(): Promise<Embedder> {
  // One thread: a test file sends one request at a time, and every thread is a copy of the model (about 145 MiB).
  useLite ??= loadUseLiteThread({ threads: 1 }).then((e) => new MemoEmbedder(new BatchingEmbedder(e, 4)));
  return useLite;
}

/** A clock tests move by hand: TTL tests need no sleeps. */
export class FakeClock {
  t = Date.UTC(2026, 0, 1);
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface Harness {
  up: FakeUpstream;
  reprise: Running;
  clock: FakeClock;
  /** an SDK client pointed at Reprise */
  client(apiKey?: string, opts?: Partial<ConstructorParameters<typeof OpenAI>[0]>): OpenAI;
  /** an Anthropic SDK client pointed at Reprise (whose --anthropic-upstream is the same fake upstream) */
  anthropic(apiKey?: string, opts?: Partial<ConstructorParameters<typeof Anthropic>[0]>): Anthropic;
  close(): Promise<void>;
}

export async function startHarness(
  flags: Record<string, string> = {},
  opts: { embedder?: Embedder | Promise<Embedder>; store?: Store; logger?: Logger } = {},
): Promise<Harness> {
  const up = await startFakeUpstream();
  const clock = new FakeClock();
  // Tests wait for their embeddings as long as it takes (a busy CI machine can hold one past the 15 ms default);
  // test/behaviour/embed-busy.test.ts sets its own --embed-wait.
  const config = parseConfig({ port: '0', host: '127.0.0.1', upstream: up.url, 'anthropic-upstream': up.url, 'log-level': 'silent', 'embed-wait': '60000', ...flags }, {});
  const reprise = await startFront(config, {
    embedder: opts.embedder ?? bundledEmbedder(),
    logger: opts.logger ?? silentLogger,
    now: clock.now,
    ...(opts.store && { store: opts.store }),
  });
  await reprise.ready;
  return {
    up,
    reprise,
    clock,
    client: (apiKey = 'sk-test-a', o = {}) => new OpenAI({ apiKey, baseURL: `${reprise.url}/v1`, maxRetries: 0, ...o }),
    anthropic: (apiKey = 'sk-ant-test-a', o = {}) => new Anthropic({ apiKey, baseURL: reprise.url, maxRetries: 0, ...o }),
    async close() {
      await reprise.close();
      await up.close();
    },
  };
}

/** Non-streaming chat call that returns the body and the response headers. */
export async function chat(client: OpenAI, body: Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'model'> & { model?: string }, headers?: Record<string, string>) {
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', ...body, stream: false }, { headers })
    .withResponse();
  return { data, headers: response.headers, status: response.status };
}

/** A one-message user question. */
export const ask = (text: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) => ({
  messages: [{ role: 'user' as const, content: text }],
  ...extra,
});

/**
 * Start a harness for the whole file (beforeAll/afterAll), with a clean upstream and an empty cache before each
 * test. The returned object forwards to the running harness.
 */
export function useHarness(flags: Record<string, string> = {}, opts: { embedder?: Embedder | Promise<Embedder> } = {}): Harness {
  let current: Harness | undefined;
  beforeAll(async () => {
    current = await startHarness(flags, opts);
  });
  afterAll(() => current?.close());
  beforeEach(async () => {
    current!.up.reset();
    await current!.reprise.store.purge({});
  });
  return new Proxy({} as Harness, { get: (_, key) => current![key as keyof Harness] });
}
