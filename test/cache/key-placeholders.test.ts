/**
 * Long strings are swapped for placeholders while lossless-json reads the body (cache/key-json.ts). A body that
 * spells a placeholder itself, with escapes no text search finds, must not have one of its strings read as another,
 * nor a member dropped from the key: the placeholder carries a random part no body can know.
 */
import { describe, expect, it } from 'vitest';
import { chatSplit } from '../../src/openai/query-split.js';
import { buildKey } from '../../src/cache/key.js';
import { keyTreeOf } from '../../src/cache/key-json.js';

const LONG = 'You are a careful assistant. Follow the policy below strictly. '.repeat(30);
const key = (raw: string) => buildKey({ endpoint: 'chat', body: keyTreeOf(raw) as Record<string, unknown>, split: chatSplit }, { tenant: 't', namespace: '', embedderId: 'e' });

describe('long-string placeholders', () => {
  it('two bodies that send upstream different system prompts get one cache key', () => {
    const a = JSON.stringify({ model: 'm', messages: [{ role: 'system', content: LONG }, { role: 'user', content: 'What should I do?' }] });
    // "\u0072" is "r": the raw text never contains MARKER, yet the decoded string starts with "\0reprise-long:".
    const b = `{"model":"m","stream_options":{"pad":${JSON.stringify(LONG)}},"messages":[{"role":"system","content":"\\u0000\\u0072eprise-long:0"},{"role":"user","content":"What should I do?"}]}`;
    expect((JSON.parse(b) as { messages: Array<{ content: string }> }).messages[0]!.content).not.toBe(LONG); // upstream sees this
    const ka = key(a);
    const kb = key(b);
    expect(kb.scope === ka.scope && kb.textKey === ka.textKey, 'B (no system prompt upstream) shares A\'s cache entry').toBe(false);
  });
  it('an out-of-range placeholder drops the member from the key', () => {
    const a = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: LONG }] });
    const b = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: LONG }] }).replace(/}$/, ',"temperature_hint":"\\u0000\\u0072eprise-long:9"}');
    expect(key(b).scope, 'a member the upstream sees is missing from the key').not.toBe(key(a).scope);
  });
});
