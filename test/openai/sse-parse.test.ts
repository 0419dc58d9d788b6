import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../../src/openai/sse-parse.js';

const enc = new TextEncoder();

/** Feed `chunks` in order, then end(). */
function parseChunks(chunks: Uint8Array[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (const c of chunks) out.push(...p.push(c));
  out.push(...p.end());
  return out;
}

const parseAll = (text: string) => parseChunks([enc.encode(text)]);

/** Every way of cutting `bytes` into two pieces, plus one byte per chunk. */
function* splits(bytes: Uint8Array): Generator<Uint8Array[]> {
  for (let i = 0; i <= bytes.length; i++) yield [bytes.subarray(0, i), bytes.subarray(i)];
  yield Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

const chunk = (delta: object, finish: string | null = null) =>
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });

const OPENAI_STREAM =
  `data: ${chunk({ role: 'assistant', content: '', refusal: null })}\n\n` +
  ': ping\n\n' +
  `data: ${chunk({ content: 'héllo ' })}\n\n` +
  `data: ${chunk({ content: '日本 🎉' })}\n\n` +
  `data: ${chunk({}, 'stop')}\n\n` +
  'data: [DONE]\n\n';

describe('SseParser', () => {
  it('parses a realistic OpenAI stream', () => {
    const events = parseAll(OPENAI_STREAM);
    expect(events.map((e) => e.data)).toEqual([
      chunk({ role: 'assistant', content: '', refusal: null }),
      chunk({ content: 'héllo ' }),
      chunk({ content: '日本 🎉' }),
      chunk({}, 'stop'),
      '[DONE]',
    ]);
    expect(events.every((e) => e.event === 'message')).toBe(true);
    expect(JSON.parse(events[2]!.data).choices[0].delta.content).toBe('日本 🎉');
  });

  it('yields the same events however the bytes are split, including inside multi-byte UTF-8', () => {
    const bytes = enc.encode(OPENAI_STREAM);
    // The fixture really has multi-byte characters (é is 2 bytes, 日 3, 🎉 4).
    expect(bytes.length).toBeGreaterThan(OPENAI_STREAM.length);
    const whole = parseAll(OPENAI_STREAM);
    expect(whole).toHaveLength(5);
    for (const parts of splits(bytes)) expect(parseChunks(parts)).toEqual(whole);
  });

  it('yields events as soon as their blank line arrives, not only at end()', () => {
    const p = new SseParser();
    expect(p.push(enc.encode('data: a\n'))).toEqual([]);
    expect(p.push(enc.encode('\n'))).toEqual([{ event: 'message', data: 'a' }]);
    expect(p.end()).toEqual([]);
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('accepts %s line endings', (_, eol) => {
    const text = `event: delta${eol}data: one${eol}data: two${eol}${eol}: comment${eol}data: three${eol}${eol}`;
    const expected = [
      { event: 'delta', data: 'one\ntwo' },
      { event: 'message', data: 'three' },
    ];
    expect(parseAll(text)).toEqual(expected);
    for (const parts of splits(enc.encode(text))) expect(parseChunks(parts)).toEqual(expected);
  });

  it('treats CR at the end of one chunk and LF at the start of the next as one line break', () => {
    const events = parseChunks([enc.encode('data: a\r'), enc.encode('\ndata: b\r'), enc.encode('\n\r'), enc.encode('\n')]);
    // Had either CRLF been read as two breaks, "a" would have been dispatched on its own.
    expect(events).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('treats CR at the end of a chunk followed by a different line as a line break', () => {
    expect(parseChunks([enc.encode('data: a\r'), enc.encode('\r')])).toEqual([{ event: 'message', data: 'a' }]);
  });

  it('ignores comment lines, including between data lines of one event', () => {
    expect(parseAll(': ping\n\n:\ndata: x\n: keep-alive\ndata: y\n\n')).toEqual([{ event: 'message', data: 'x\ny' }]);
  });

  it('joins multi-line data with LF and keeps empty data lines', () => {
    expect(parseAll('data: line 1\ndata:\ndata: line 3\n\n')).toEqual([{ event: 'message', data: 'line 1\n\nline 3' }]);
  });

  it('strips exactly one leading space from the value, and a line without colon is a field with empty value', () => {
    expect(parseAll('data:  two spaces\n\n')).toEqual([{ event: 'message', data: ' two spaces' }]);
    expect(parseAll('data:no-space\n\n')).toEqual([{ event: 'message', data: 'no-space' }]);
    expect(parseAll('data\n\n')).toEqual([{ event: 'message', data: '' }]);
  });

  it('reads the event field and resets it after each dispatch', () => {
    expect(parseAll('event: error\ndata: {"error":{}}\n\ndata: next\n\n')).toEqual([
      { event: 'error', data: '{"error":{}}' },
      { event: 'message', data: 'next' },
    ]);
  });

  it('does not dispatch a blank line with no data, and forgets its event type', () => {
    expect(parseAll('event: ignored\n\n\n\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('reads the id field and keeps it for later events; ignores unknown fields', () => {
    expect(parseAll('id: 7\nretry: 1000\nfoo: bar\ndata: a\n\ndata: b\n\n')).toEqual([
      { event: 'message', data: 'a', id: '7' },
      { event: 'message', data: 'b', id: '7' },
    ]);
  });

  it('drops an unterminated final event at end()', () => {
    const p = new SseParser();
    expect(p.push(enc.encode('data: complete\n\ndata: {"partial":'))).toEqual([{ event: 'message', data: 'complete' }]);
    expect(p.end()).toEqual([]);
    // A final data line that ended with a line break but no blank line is still incomplete.
    expect(parseAll('data: a\n\ndata: b\n')).toEqual([{ event: 'message', data: 'a' }]);
  });

  it('decodes a multi-byte character split across pushes without replacement characters', () => {
    const bytes = enc.encode('data: 🎉\n\n');
    const p = new SseParser();
    const out: SseEvent[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...p.push(bytes.subarray(i, i + 1)));
    expect(out).toEqual([{ event: 'message', data: '🎉' }]);
    expect(out[0]!.data).not.toContain('\uFFFD');
  });

  // BUG (src/openai/sse-parse.ts:37-39): feed() clears `sawCR` whenever it runs, even when the chunk decoded to
  // no text, so the LF that completes the CRLF is then read as a second line break (a blank line → dispatch).
  it('treats an empty chunk between CR and LF as no input', () => {
    const events = parseChunks([enc.encode('data: a\r'), new Uint8Array(0), enc.encode('\ndata: b\r\n\r\n')]);
    expect(events).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
});
