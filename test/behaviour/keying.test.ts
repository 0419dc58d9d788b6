/**
 * The key keeps what can change the answer (hardening items 9, 12, 13): the body is keyed as the upstream reads it,
 * exact matching keeps code's indentation, duplicate members are refused, and no nesting depth makes a 500.
 */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness();

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${h.reprise.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-key-a', ...headers }, body });

describe('keying the body as the upstream will read it', () => {
  it('two Python programs that differ only in indentation are two questions, not an exact hit', async () => {
    const c = h.client();
    const program = (indent: string) => `What does this print?\n\nfor i in range(3):\n    print(i)\n${indent}print("done")`;
    await chat(c, ask(program('')));
    // The exact key keeps indentation; the embedding does not see it, so the layout guard refuses the candidate.
    const other = await chat(c, ask(program('    ')));
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    expect(h.up.count('/chat/completions')).toBe(2);
  });

  it('two YAML documents that differ only in nesting get their own answers', async () => {
    const c = h.client();
    await chat(c, ask('Is this valid?\na:\n  b: 1\n  c: 2'));
    const other = await chat(c, ask('Is this valid?\na:\n  b: 1\nc: 2'));
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    expect(h.up.count('/chat/completions')).toBe(2);
  });

  it.each([
    ['seeds above 2^53', ',"seed":9007199254740993', ',"seed":9007199254740992'],
    ['1e400 and null', ',"temperature":1e400', ',"temperature":null'],
    ['a "__proto__" member', ',"__proto__":{"n":2}', ''],
  ])('%s key apart: the second request goes upstream', async (_name, a, b) => {
    const body = (extra: string) => `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Pick a number between 1 and 10."}]${extra}}`;
    const first = await post(body(a));
    expect(first.status).toBe(200);
    const second = await post(body(b));
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache-status')).toBe('MISS');
    expect(h.up.count('/chat/completions')).toBe(2);
    // The upstream got each body byte for byte, as keyed.
    expect(h.up.calls.length).toBe(2);
  });

  it('a member sent twice with different values is a 400 naming it, and never reaches upstream', async () => {
    const res = await post('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],"temperature":0,"temperature":2}');
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { code: string; param: string; type: string } };
    expect(json.error).toMatchObject({ code: 'duplicate_key', param: 'temperature', type: 'invalid_request_error' });
    expect(h.up.count()).toBe(0);
  });

  it.each([2_500, 100_000])('a body nested %i levels deep is never a 500: it is answered, and fails open when too deep to key', async (depth) => {
    const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Deep?"}],"metadata_blob":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const res = await post(body);
    expect(res.status).toBe(200);
    expect(['MISS', 'ERROR']).toContain(res.headers.get('x-cache-status'));
    if (res.headers.get('x-cache-status') === 'ERROR') expect(res.headers.get('x-cache-reason')).toBe('key');
    await res.text();
    expect(h.up.count('/chat/completions')).toBe(1);
    // the same body with no-store goes through too
    const again = await post(body, { 'cache-control': 'no-store' });
    expect(again.status).toBe(200);
  });
});
