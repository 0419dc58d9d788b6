/**
 * A joiner that arrives after the leader has passed on more than the slow-reader bound (JOINER_BUFFER_BYTES, 1 MiB)
 * but less than the flight's replay buffer (8 MiB) gets the whole answer when it reads fast: the replay it is handed
 * on joining does not count against the bound.
 */
import { connect } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { useHarness } from '../helpers/harness.js';
import { exchange as rawRequest } from '../helpers/raw-http.js';

const h = useHarness();
const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Write a very long report.' }], stream: true });
const HEADERS: Array<[string, string]> = [['Authorization', 'Bearer sk-test-a'], ['Content-Type', 'application/json']];

describe('a joiner that arrives late in a long answer', () => {
  it('gets the whole answer when it reads as fast as it can', async () => {
    let release!: () => void;
    // The first content event alone is 1.5 MiB; then upstream holds.
    h.up.next({ content: `${'A'.repeat(1_536 * 1024)} and the rest of the report.`, holdUntil: new Promise<void>((r) => (release = r)) });
    const { hostname, port } = new URL(h.reprise.url);
    const leader = connect(Number(port), hostname);
    leader.on('error', () => {});
    let got = 0;
    leader.on('data', (d: Buffer) => (got += d.length));
    leader.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test-a\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\nConnection: close\r\n\r\n${BODY}`);
    await vi.waitFor(() => expect(got).toBeGreaterThan(1_536 * 1024), { timeout: 10_000 });

    const joined = rawRequest(h.reprise.url, 'POST', '/v1/chat/completions', HEADERS, BODY);
    await vi.waitFor(() => expect(h.reprise.metrics.snapshot().coalesced).toBe(1));
    release();
    const res = await joined;
    expect(res.text, `the joiner was cut: ${res.text.slice(-200)}`).not.toContain('reader_too_slow');
    expect(res.text).toMatch(/data: \[DONE\]\n\n$/);
    leader.destroy();
  }, 60_000);
});
