/**
 * A joiner counts as a reader from the moment it joins: when the leader's client leaves before upstream's head,
 * the upstream call goes on for the joiner already waiting (it subscribes once the head is in), rather than being
 * aborted and made again.
 */
import { connect } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { useHarness } from '../helpers/harness.js';
import { exchange as rawRequest } from '../helpers/raw-http.js';

const h = useHarness();
const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Slow to answer, shared by two.' }] });

describe("the leader leaves before upstream's head", () => {
  it('its joiner, already waiting, is answered by that same upstream call', async () => {
    h.up.next({ delayMs: 1_500 });
    const { hostname, port } = new URL(h.reprise.url);
    const leader = connect(Number(port), hostname);
    leader.on('error', () => {});
    const leaderClosed = new Promise<void>((r) => leader.on('close', () => r()));
    leader.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test-a\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`);
    await vi.waitFor(() => expect(h.up.count('/chat/completions')).toBe(1));
    const joiner = rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', [['Authorization', 'Bearer sk-test-a'], ['Content-Type', 'application/json']], BODY);
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().flights.joinersWaiting).toBe(1));
    leader.end();
    await leaderClosed;
    const res = await joiner;
    expect(res.status).toBe(200);
    expect(h.up.aborted, 'the call was aborted while a joiner was waiting for it').toBe(0);
    expect(h.up.count('/chat/completions'), 'the joiner had to make a second upstream call').toBe(1);
  });
});
