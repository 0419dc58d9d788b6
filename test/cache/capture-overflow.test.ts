/**
 * A stream with one event longer than the SSE parser keeps (MAX_EVENT_CHARS, 16 Mi characters) is not stored, even
 * where --max-entry-bytes would let its size through: the parser drops that event, and what is left is not the answer.
 */
import { describe, expect, it } from 'vitest';
import { Capture } from '../../src/cache/capture.js';
import { CHAT } from '../../src/openai/wire.js';
import { MAX_EVENT_CHARS } from '../../src/openai/sse-parse.js';
import { parseConfig } from '../../src/config.js';

const enc = new TextEncoder();
const ev = (o: unknown) => enc.encode(`data: ${JSON.stringify(o)}\n\n`);
const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }],
});

describe('a stream whose event overflowed the SSE parser', () => {
  it('is not stored when --max-entry-bytes lets it through', () => {
    const max = parseConfig({ 'max-entry-bytes': '64mb' }, {}).maxEntryBytes;
    const cap = new Capture(CHAT, true, max);
    cap.push(ev(chunk({ role: 'assistant', content: 'Start. ' })));
    // As it comes off a socket: 64 KiB at a time.
    const big = ev(chunk({ content: 'x'.repeat(MAX_EVENT_CHARS + 200_000) }));
    for (let i = 0; i < big.length; i += 65536) cap.push(big.subarray(i, i + 65536));
    cap.push(ev(chunk({ content: ' End.' })));
    cap.push(ev(chunk({}, 'stop')));
    cap.push(enc.encode('data: [DONE]\n\n'));
    expect(cap.finish()).toEqual({ ok: false, reason: 'too-large' });
  });
});
