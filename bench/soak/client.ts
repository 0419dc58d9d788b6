/**
 * @module bench/soak/client: one request to Reprise over node:http, as a client would send it, with what came back
 * recorded as it arrived: the head, the bytes, whether the body ended cleanly or was cut, and any error. It can hang
 * up early (before the head, or after the first body bytes) and gives up past a timeout.
 */
import { Agent, request } from 'node:http';

/** When to hang up: never; `afterMs` after sending unless the head is in (0: as soon as the request is written); or past `afterBytes` of the body unless it is all in. */
export type AbortPlan = { at: 'none' } | { at: 'before-head'; afterMs: number } | { at: 'mid-body'; afterBytes: number };

export interface Sent {
  /** ms since epoch when the request was sent */
  at: number;
  ms: number;
  status?: number;
  headers: Record<string, string>;
  body: string;
  /** the body ended with a clean end of message (content-length met, or the last chunk) */
  complete: boolean;
  /** we hung up, as planned, before the response was complete */
  abortedByUs?: 'before-head' | 'mid-body';
  /** no complete response within the timeout */
  timedOut: boolean;
  /** the transport error, if any (code and message) */
  error?: string;
  /** the request went out on a kept-alive socket (a reset before the head may then be the keep-alive race) */
  reusedSocket: boolean;
}

export interface Target {
  host: string;
  port: number;
  agent: Agent;
}

export function target(baseUrl: string, connections: number): Target {
  const u = new URL(baseUrl);
  return { host: u.hostname, port: Number(u.port), agent: new Agent({ keepAlive: true, maxSockets: connections }) };
}

/** Send `body` to `path` and resolve with everything that came back; never rejects. */
export function send(t: Target, path: string, headers: Record<string, string>, body: string, plan: AbortPlan, timeoutMs: number): Promise<Sent> {
  const at = Date.now();
  const start = performance.now();
  const out: Sent = { at, ms: 0, headers: {}, body: '', complete: false, timedOut: false, reusedSocket: false };
  const parts: Buffer[] = [];
  let bytes = 0;
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(early);
      out.ms = performance.now() - start;
      out.body = Buffer.concat(parts).toString('utf8');
      resolve(out);
    };
    const req = request({ host: t.host, port: t.port, method: 'POST', path, agent: t.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } });
    const hangUp = (when: 'before-head' | 'mid-body') => {
      if (done || out.complete) return;
      out.abortedByUs = when;
      req.destroy();
      finish();
    };
    const timer = setTimeout(() => {
      out.timedOut = true;
      req.destroy();
      finish();
    }, timeoutMs);
    const early = plan.at === 'before-head' && plan.afterMs > 0 ? setTimeout(() => out.status === undefined && hangUp('before-head'), plan.afterMs) : undefined;
    // Hung up as soon as the request has gone out: Reprise is still working on it, even for a hit.
    if (plan.at === 'before-head' && plan.afterMs === 0) req.once('finish', () => out.status === undefined && hangUp('before-head'));
    req.once('socket', () => (out.reusedSocket = req.reusedSocket));
    req.on('error', (err: NodeJS.ErrnoException) => {
      out.error ??= `${err.code ?? ''} ${err.message}`.trim();
      finish();
    });
    req.on('response', (res) => {
      out.status = res.statusCode;
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.headers[k] = Array.isArray(v) ? v.join(', ') : v;
      res.on('data', (d: Buffer) => {
        parts.push(d);
        bytes += d.length;
        // Past the planned byte, hang up, unless the whole (content-length) body is already here.
        const whole = Number(res.headers['content-length'] ?? Infinity);
        if (plan.at === 'mid-body' && bytes >= plan.afterBytes && bytes < whole) hangUp('mid-body');
      });
      res.on('end', () => {
        out.complete = res.complete;
        finish();
      });
      res.on('error', (err: NodeJS.ErrnoException) => {
        out.error ??= `${err.code ?? ''} ${err.message}`.trim();
        finish();
      });
      res.on('close', finish);
    });
    req.end(body);
  });
}
