/**
 * What the workerd tests share: a Worker env made of the pool's real bindings (KV `CACHE`, the `STATS` Durable
 * Object, from wrangler.toml's `offline` environment) and the stand-ins for Workers AI and Vectorize; requests sent
 * through the Worker's fetch with an ExecutionContext whose waitUntil work is awaited before the next request; and
 * the fake upstream (started in Node by global-setup.ts), driven over HTTP.
 *
 * src/worker.ts keeps its parts per env object: a fresh env object (`again`) is a fresh isolate, with empty memory
 * tiers and counters, over the same KV, Durable Object and stand-ins.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env as poolEnv } from 'cloudflare:workers';
import { inject } from 'vitest';
import worker from '../../src/worker.js';
import type { DurableObjectNamespace, KvNamespace, WorkerEnv } from '../../src/worker/bindings.js';
import type { HeaderBehavior, ListedCall } from '../fixtures/fake-upstream.js';
import { DelayedVectorize, StandInAi } from '../fixtures/workers/stand-ins.js';

/** The fake upstream's origin, e.g. http://127.0.0.1:41234 */
export const UPSTREAM = inject('fakeUpstream');

export const TENANT_SECRET = 'workerd-test-secret-0123456789';
export const ADMIN_TOKEN = 'workerd-admin-token-0123456789';

/** The pool's bindings, as wrangler.toml's offline environment declares them. */
const bound = poolEnv as unknown as { CACHE: KvNamespace; STATS: DurableObjectNamespace };

/** KV as the Worker sees it, recording its reads and able to fail. */
export class SpyKv implements KvNamespace {
  /** every call throws */
  failing = false;
  /** writes throw, reads work */
  failingWrites = false;
  /** every get, with whether it found a value */
  readonly gets: Array<{ key: string; found: boolean }> = [];
  readonly puts: string[] = [];
  /** called after each get has been answered (before the caller sees the answer) */
  onGet: ((key: string) => void) | undefined;

  constructor(private readonly inner: KvNamespace) {}

  private check(): void {
    if (this.failing) throw new Error('KV stand-in: failing');
  }

  async get(key: string, type: 'text'): Promise<string | null> {
    this.check();
    const value = await this.inner.get(key, type);
    this.gets.push({ key, found: value !== null });
    this.onGet?.(key);
    return value;
  }

  async put(key: string, value: string, options?: { expirationTtl?: number; metadata?: unknown }): Promise<void> {
    this.check();
    if (this.failingWrites) throw new Error('KV stand-in: writes failing');
    this.puts.push(key);
    await this.inner.put(key, value, options);
  }

  async delete(key: string): Promise<void> {
    this.check();
    await this.inner.delete(key);
  }

  list<M = unknown>(options?: { prefix?: string; cursor?: string; limit?: number }) {
    this.check();
    return this.inner.list<M>(options);
  }
}

/**
 * The STATS namespace with a stats object of the test's own: the Worker always asks for the object named "stats",
 * which every test file would otherwise share.
 */
function ownStatsObject(ns: DurableObjectNamespace, suffix: string): DurableObjectNamespace {
  return { idFromName: (name) => ns.idFromName(`${name}:${suffix}`), get: (id) => ns.get(id) };
}

/** A manual clock for the Vectorize stand-in: vectors become searchable when the test moves it, not with time. */
export interface Clock {
  ms: number;
}

export interface TestWorld {
  env: WorkerEnv;
  ai: StandInAi;
  vectors: DelayedVectorize;
  kv: SpyKv;
  clock: Clock;
  /** tags this world's upstream calls (x-fake-run) and names its API keys */
  run: string;
}

export interface WorldOptions {
  /** vars over the defaults (TENANT_SECRET, UPSTREAM_URL, ANTHROPIC_UPSTREAM_URL, ADMIN_TOKEN, LOG_LEVEL) */
  vars?: Record<string, string | undefined>;
  /** bind the AI stand-in @default true */
  ai?: boolean;
  /** bind the Vectorize stand-in @default true */
  vectors?: boolean;
  /** ms after an upsert, on the manual clock, before a vector is searchable @default 0 */
  visibleAfterMs?: number;
}

/** A fresh Worker env: the pool's KV and stats object, new stand-ins, and the fake upstream as the upstream. */
export function world(opts: WorldOptions = {}): TestWorld {
  const run = crypto.randomUUID();
  const clock: Clock = { ms: 0 };
  const ai = new StandInAi();
  const vectors = new DelayedVectorize({ visibleAfterMs: opts.visibleAfterMs ?? 0, now: () => clock.ms });
  const kv = new SpyKv(bound.CACHE);
  const vars: Record<string, string> = {
    TENANT_SECRET,
    UPSTREAM_URL: `${UPSTREAM}/v1`,
    ANTHROPIC_UPSTREAM_URL: `${UPSTREAM}/v1`,
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
  };
  for (const [name, value] of Object.entries(opts.vars ?? {})) {
    if (value === undefined) delete vars[name];
    else vars[name] = value;
  }
  const env: WorkerEnv = {
    ...vars,
    CACHE: kv,
    STATS: ownStatsObject(bound.STATS, run),
    ...(opts.ai !== false && { AI: ai }),
    ...(opts.vectors !== false && { VECTORS: vectors }),
  };
  return { env, ai, vectors, kv, clock, run };
}

/** The same bindings and vars in a new env object: to the Worker, a new isolate. */
export function again(w: TestWorld): TestWorld {
  return { ...w, env: { ...w.env } };
}

export interface Sent {
  status: number;
  headers: Headers;
  text: string;
  /** the body as JSON (throws if it is not) */
  json: <T = Record<string, unknown>>() => T;
}

/** The request through the Worker: its whole body read, then its waitUntil work (storing, sharing) awaited. */
export async function fetchWorker(w: TestWorld, request: Request): Promise<Sent> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, w.env, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
}

export interface PostOptions {
  /** the API key (Authorization: Bearer, or x-api-key on /v1/messages) @default sk-<run> */
  key?: string;
  /** the fake upstream's behaviour for this request (x-fake-behavior) */
  behavior?: HeaderBehavior;
  headers?: Record<string, string>;
}

/** A POST to the Worker, as a client sends it. `body` is JSON-encoded unless it is a string. */
export function post(w: TestWorld, path: string, body: unknown, opts: PostOptions = {}): Request {
  const key = opts.key ?? `sk-${w.run}`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(path.startsWith('/v1/messages') ? { 'x-api-key': key, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${key}` }),
    'x-fake-run': w.run,
    ...(opts.behavior && { 'x-fake-behavior': JSON.stringify(opts.behavior) }),
    ...opts.headers,
  };
  return new Request(`https://reprise.test${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** A chat completions request body asking `text`. */
export function chat(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], ...extra };
}

/** The answer text of a chat completion. */
export function answerOf(sent: Sent): string {
  return sent.json<{ choices: Array<{ message: { content: string } }> }>().choices[0]!.message.content;
}

/** The fake upstream's calls tagged with this world's run. */
export async function upstreamCalls(w: TestWorld): Promise<ListedCall[]> {
  const res = await fetch(`${UPSTREAM}/__fake/calls?run=${encodeURIComponent(w.run)}`);
  if (!res.ok) throw new Error(`the fake upstream answered ${res.status}`);
  return ((await res.json()) as { calls: ListedCall[] }).calls;
}

/** Lets the fake upstream's streams held on `hold` go on. */
export async function release(hold: string): Promise<void> {
  const res = await fetch(`${UPSTREAM}/__fake/release?hold=${encodeURIComponent(hold)}`, { method: 'POST' });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`the fake upstream answered ${res.status}`);
}

/** One macrotask turn: every microtask queued before it (a promise chain with no I/O in it) has run. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The X-Cache-* headers of a response, for assertions. */
export function cacheHeaders(sent: { headers: Headers }): { status: string | null; match: string | null; reason: string | null; id: string | null } {
  const h = sent.headers;
  return { status: h.get('x-cache-status'), match: h.get('x-cache-match'), reason: h.get('x-cache-reason'), id: h.get('x-cache-id') };
}
