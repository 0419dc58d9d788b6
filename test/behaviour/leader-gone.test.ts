/**
 * A joiner never depends on the leader's client staying connected (DESIGN): a joiner that has been handed a share of
 * the leader's stream gets the whole answer when the leader's client hangs up.
 */
import { connect } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { useHarness } from '../helpers/harness.js';
import { exchange as rawRequest } from '../helpers/raw-http.js';

const h = useHarness();

const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Tell me a long story about a lighthouse.' }], stream: true });
const HEADERS: Array<[string, string]> = [['Authorization', 'Bearer sk-test-a'], ['Content-Type', 'application/json']];

/** A raw client that sends BODY, resolves `firstEvent` once an SSE event has arrived, and can hang up. */
function rawLeader(url: string) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  let seen = '';
  let gotEvent!: () => void;
  const firstEvent = new Promise<void>((r) => (gotEvent = r));
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.on('data', (d: Buffer) => {
    seen += d.toString('latin1');
    if (seen.includes('data: ')) gotEvent();
  });
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-test-a\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`,
  );
  return {
    firstEvent,
    /** hang up, and resolve once Reprise has closed its side too (so it knows the client is gone) */
    async hangUp() {
      socket.end();
      await closed;
    },
  };
}

describe('the leader\'s client leaves mid-stream', () => {
  it('a joiner that already shares the stream still gets the whole answer', async () => {
    let release!: () => void;
    h.up.next({ holdUntil: new Promise<void>((r) => (release = r)) });

    const leader = rawLeader(h.reprise.url);
    await leader.firstEvent;

    // The joiner: identical request, joins the flight (counted as coalesced when it does).
    const joined = rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', HEADERS, BODY);
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().coalesced).toBe(1));

    await leader.hangUp();
    release();

    const res = await joined;
    expect(res.status).toBe(200);
    expect(res.cut, `joiner's stream was cut after: ${JSON.stringify(res.text.slice(0, 200))}`).toBe(false);
    expect(res.text).toMatch(/data: \[DONE\]\n\n$/);
    expect(h.up.count('/chat/completions')).toBe(1);
  });
});

describe('the upstream call is aborted only when no reader is left', () => {
  it('the leader leaves, then its only joiner: upstream sees the call aborted, and nothing is stored', async () => {
    let release!: () => void;
    h.up.next({ holdUntil: new Promise<void>((r) => (release = r)) });
    const coalesced = h.reprise.metrics.snapshot().coalesced;
    const leader = rawLeader(h.reprise.url);
    await leader.firstEvent;
    const joiner = rawLeader(h.reprise.url);
    await joiner.firstEvent;
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().coalesced).toBe(coalesced + 1));

    await leader.hangUp();
    // Still one reader: the call goes on.
    expect(h.up.aborted).toBe(0);
    await joiner.hangUp();
    await vi.waitFor(() => expect(h.up.aborted).toBe(1));
    release();
    expect(h.reprise.store.size()).toBe(0);
    expect(h.up.count('/chat/completions')).toBe(1);
  });
});
