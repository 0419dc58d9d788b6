/**
 * @module bench/lib/client: one timed request, as the paired-round benches (apis, worker) send it: over a given
 * keep-alive dispatcher, timed from just before it is written to the end of its body, with the headers a bench
 * checks.
 */
import { request, type Agent } from 'undici';

export interface Reply {
  ms: number;
  status: number;
  /** x-cache-status, "" when absent */
  cache: string;
  /** x-cache-match, "" when absent */
  match: string;
  contentType: string;
  text: string;
}

export async function timedPost(dispatcher: Agent, url: string, headers: Record<string, string>, body: string): Promise<Reply> {
  const start = performance.now();
  const res = await request(url, { method: 'POST', headers, body, dispatcher });
  const text = await res.body.text();
  const ms = performance.now() - start;
  const header = (name: string) => {
    const v = res.headers[name];
    return Array.isArray(v) ? v.join(',') : (v ?? '');
  };
  return { ms, status: res.statusCode, cache: header('x-cache-status'), match: header('x-cache-match'), contentType: header('content-type'), text };
}
