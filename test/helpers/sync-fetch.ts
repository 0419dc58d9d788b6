/**
 * @module test/helpers/sync-fetch: a blocking HTTP request, for the few parts of `Running` that are synchronous
 * (`store.size()`) on a front whose state lives in another process (the Worker in workerd). One worker thread does
 * the fetch; the calling thread waits on a shared buffer with Atomics.wait until it has the answer.
 *
 * The calling thread's event loop stands still meanwhile: the request must not need anything this thread serves
 * (a fake upstream, an embedder) to be answered. The thread's source is plain JavaScript given as a string: a
 * worker thread does not get the TypeScript loader of the thread that starts it.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', async ({ url, init, signal, data, timeoutMs }) => {
  const flag = new Int32Array(signal);
  const bytes = new Uint8Array(data);
  let status = 0;
  let text;
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    status = res.status;
    text = await res.text();
  } catch (err) {
    status = -1;
    text = String((err && err.message) || err);
  }
  const encoded = new TextEncoder().encode(text);
  const n = Math.min(encoded.length, bytes.length - 8);
  new DataView(data).setInt32(0, status);
  new DataView(data).setInt32(4, n);
  bytes.set(encoded.subarray(0, n), 8);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

const BUFFER_BYTES = 1 << 20;

let worker: Worker | undefined;

/** `fetch(url, init)` that blocks until the answer has come: its status and its body as text. Throws if it fails. */
export function syncFetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}, timeoutMs = 10_000): { status: number; text: string } {
  if (!worker) {
    worker = new Worker(WORKER_SOURCE, { eval: true });
    // The thread never keeps the test process alive.
    worker.unref();
  }
  const signal = new SharedArrayBuffer(4);
  const data = new SharedArrayBuffer(BUFFER_BYTES);
  worker.postMessage({ url, init, signal, data, timeoutMs });
  const flag = new Int32Array(signal);
  if (Atomics.wait(flag, 0, 0, timeoutMs + 1000) === 'timed-out') throw new Error(`syncFetch ${url}: no answer in ${timeoutMs} ms`);
  const view = new DataView(data);
  const status = view.getInt32(0);
  const n = view.getInt32(4);
  const text = new TextDecoder().decode(new Uint8Array(data, 8, n));
  if (status < 0) throw new Error(`syncFetch ${url}: ${text}`);
  return { status, text };
}
