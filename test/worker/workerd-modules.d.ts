/**
 * The parts of workerd's and the pool's modules these tests use, declared for the main tsconfig (DOM and Node types).
 * The pool's own declarations (@cloudflare/vitest-pool-workers/types) rest on @cloudflare/workers-types, whose
 * globals clash with the DOM and Node ones, and under which src/ does not type-check (its timers, URL.canParse): the
 * tests import src/, so they are checked with src/, against these. The signatures are the pool's (0.15).
 */
declare module 'cloudflare:test' {
  /** A Worker's ExecutionContext, as much of it as the Worker uses. */
  export interface ExecutionContext {
    waitUntil(promise: Promise<unknown>): void;
    passThroughOnException(): void;
    readonly props: unknown;
  }
  /** An ExecutionContext to pass as a module Worker's fetch handler's third argument. */
  export function createExecutionContext(): ExecutionContext;
  /** Waits for every promise the context's waitUntil was given to settle. */
  export function waitOnExecutionContext(ctx: ExecutionContext): Promise<void>;
}

declare module 'cloudflare:workers' {
  /** The bindings the pool gives the test Worker (wrangler.toml's offline environment): typed by harness.ts. */
  export const env: Record<string, unknown>;
}
