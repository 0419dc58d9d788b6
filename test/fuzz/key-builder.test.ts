/**
 * @module test/fuzz/key-builder: fuzz buildKey on the bodies the wires accept, read as the pipeline reads them
 * (keyTreeOf of the text). The key is well formed and a function of the request's meaning: member order and
 * transport fields never change it, anything else but the last user turn's words changes the scope, and those
 * words never do.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildKey, normaliseText, type CacheKey, type KeyContext } from '../../src/cache/key.js';
import { keyTreeOf } from '../../src/cache/key-json.js';
import type { WireApi } from '../../src/cache/wire.js';
import { parseJson } from '../../src/openai/request.js';
import { CHAT, COMPLETIONS, EMBEDDINGS } from '../../src/openai/wire.js';
import {
  chatBody,
  completionsBody,
  content,
  copy,
  embeddingsBody,
  jsonSpace,
  LONE_SURROGATES,
  mutated,
  numberText,
  prng,
  put,
  runs,
  shuffleMembers,
  text,
  tool,
  toJsonText,
} from './arbitraries.js';

const CTX: KeyContext = { tenant: 'tenant-a', namespace: 'ns', embedderId: 'bundled/use-lite@1' };
const WIRES: Record<string, WireApi> = { chat: CHAT, completions: COMPLETIONS, embeddings: EMBEDDINGS };

/**
 * The key of a body as cache/pipeline.ts builds it; undefined when the request side refuses the body or finds it too
 * deep to key (what request-parser.test.ts checks). Anything buildKey throws fails the property.
 */
function keyOf(endpoint: string, body: unknown, ws = ''): CacheKey | undefined {
  const textBody = toJsonText(body, ws);
  let tree: unknown;
  let parsed;
  try {
    parsed = WIRES[endpoint]!.parse(parseJson(textBody));
    tree = keyTreeOf(textBody);
  } catch {
    return undefined;
  }
  return buildKey({ endpoint: parsed.endpoint, body: tree as Record<string, unknown>, split: parsed.split }, CTX);
}

/** keyOf, for a body the generator made valid. */
function validKey(endpoint: string, body: unknown): CacheKey {
  const k = keyOf(endpoint, body);
  if (!k) throw new Error(`the generated body was refused: ${toJsonText(body).slice(0, 300)}`);
  return k;
}

const anyBody = fc.oneof(
  chatBody.map((b) => ['chat', b] as const),
  completionsBody.map((b) => ['completions', b] as const),
  embeddingsBody.map((b) => ['embeddings', b] as const),
);
const anyBodyOrMutated = fc.oneof(
  anyBody,
  mutated(chatBody).map((b) => ['chat', b] as const),
  mutated(completionsBody).map((b) => ['completions', b] as const),
  mutated(embeddingsBody).map((b) => ['embeddings', b] as const),
);

type Chat = { messages: Array<{ role: string; content: unknown }>; [k: string]: unknown };
/** A chat body with some history before a last user turn. */
const chatWithHistory = chatBody.filter((b) => b.messages.length >= 2 && b.messages[b.messages.length - 1]!.role === 'user') as fc.Arbitrary<Chat>;

const HEX64 = /^[0-9a-f]{64}$/;
/** No lone surrogate (UTF-8 cannot say one: the hash input turns every one into U+FFFD). */
const wellFormed = (s: string) => !/\p{Cs}/u.test(s);

describe('fuzz: buildKey', () => {
  it('keys every accepted body, well formed and the same for the same text', () => {
    let keyed = 0;
    fc.assert(
      fc.property(anyBodyOrMutated, jsonSpace, ([endpoint, body], ws) => {
        const k = keyOf(endpoint, body, ws);
        if (!k) return;
        keyed++;
        expect(k.scope).toMatch(HEX64);
        expect(k.textKey === '-' || HEX64.test(k.textKey)).toBe(true);
        expect(k.semantic).toBe(k.textKey !== '-');
        expect(typeof k.text).toBe('string');
        expect(keyOf(endpoint, body, ws)).toEqual(k);
        // Whitespace between tokens is not part of the request.
        expect(keyOf(endpoint, body, ws === '' ? '\n ' : '')).toEqual(k);
      }),
      runs(2000),
    );
    expect(keyed).toBeGreaterThan(500);
  });

  it('the order of members, at any depth, never changes the key', () => {
    fc.assert(
      fc.property(anyBodyOrMutated, fc.integer(), ([endpoint, body], seed) => {
        const a = keyOf(endpoint, body);
        const b = keyOf(endpoint, shuffleMembers(body, prng(seed)));
        expect(b).toEqual(a);
      }),
      runs(2000),
    );
  });

  it('stream and stream_options never change the key', () => {
    const transport = fc.record(
      { stream: fc.oneof(fc.boolean(), fc.constant(null)), stream_options: fc.oneof(fc.record({ include_usage: fc.boolean() }, { requiredKeys: [] }), fc.constant(null)) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(chatBody.map((b) => ['chat', b] as const), completionsBody.map((b) => ['completions', b] as const)), transport, ([endpoint, body], t) => {
        const plain: Record<string, unknown> = { ...body };
        delete plain.stream;
        delete plain.stream_options;
        expect(validKey(endpoint, { ...plain, ...t })).toEqual(validKey(endpoint, plain));
      }),
      runs(1000),
    );
  });

  /** Whether a non-text part stands between two text parts of a content. */
  const textsSplitByParts = (c: unknown): boolean => {
    if (!Array.isArray(c)) return false;
    const kinds = c.map((p: { type?: unknown; text?: unknown }) => (p?.type === 'text' && typeof p.text === 'string' ? 't' : 'o')).join('');
    return /t[^t]*o[^t]*t/.test(kinds);
  };

  it('changing only the last user turn’s words never changes the scope', () => {
    /** The same parts with other words in the text parts (or other words for a string). */
    const reword = (c: unknown, words: string[]): unknown =>
      Array.isArray(c)
        ? c.map((p: { type: string; text?: string }, i) => (p.type === 'text' ? { ...p, text: words[i % words.length] } : p))
        : typeof c === 'string'
          ? words[0]
          : c;
    fc.assert(
      fc.property(chatWithHistory, fc.array(text(), { minLength: 1, maxLength: 4 }), (body, words) => {
        const last = body.messages[body.messages.length - 1]!;
        const other = { ...body, messages: [...body.messages.slice(0, -1), { ...last, content: reword(last.content, words) }] };
        const a = validKey('chat', body);
        const b = validKey('chat', other);
        // Text parts an image stands between are matched exactly, their words in the scope (cache/turn-split.ts).
        if (textsSplitByParts(last.content)) {
          expect(a.semantic).toBe(false);
          return;
        }
        expect(b.scope).toBe(a.scope);
        // The words are what the text key is made of: the same words after normalising, the same text key; other
        // words, another (lone surrogates have their own property below).
        const [na, nb] = [normaliseText(a.text), normaliseText(b.text)];
        if (na === nb) expect(b.textKey).toBe(a.textKey);
        else if (a.semantic && b.semantic && wellFormed(na) && wellFormed(nb)) expect(b.textKey).not.toBe(a.textKey);
      }),
      runs(1000),
    );
  });

  it('texts that differ only in a lone surrogate get different text keys, unless normaliseText makes them one text', () => {
    const ask = (words: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: words }] });
    fc.assert(
      fc.property(text(8), fc.constantFrom(...LONE_SURROGATES), fc.constantFrom(...LONE_SURROGATES), text(8), (before, x, y, after) => {
        fc.pre(x !== y);
        const a = validKey('chat', ask(before + x + after));
        const b = validKey('chat', ask(before + y + after));
        if (normaliseText(a.text) !== normaliseText(b.text)) {
          expect(b.textKey, `${JSON.stringify(a.text)} and ${JSON.stringify(b.text)} share a text key`).not.toBe(a.textKey);
        }
      }),
      runs(1000),
    );
  });

  it('changing a completions prompt’s words never changes the scope', () => {
    fc.assert(
      fc.property(completionsBody, text(), fc.boolean(), (body, words, asArray) => {
        const a = validKey('completions', { ...body, prompt: asArray ? ['x'] : 'x' });
        const b = validKey('completions', { ...body, prompt: asArray ? [words] : words });
        expect(b.scope).toBe(a.scope);
      }),
      runs(1000),
    );
  });

  /** Targeted changes to everything but the last user turn's words; each one must give another scope. */
  const change = fc.oneof(
    fc.record({ what: fc.constant('system message' as const), a: text(), b: text() }),
    fc.record({ what: fc.constant('temperature' as const), a: fc.oneof(fc.double({ min: 0, max: 2, noNaN: true }), numberText), b: fc.oneof(fc.double({ min: 0, max: 2, noNaN: true }), numberText) }),
    fc.record({ what: fc.constant('tool' as const), a: tool, b: tool }),
    fc.record({ what: fc.constant('earlier turn' as const), a: content, b: content, at: fc.nat() }),
    fc.record({ what: fc.constant('model' as const), a: text(8), b: text(8) }),
    fc.record({ what: fc.constant('new member' as const), a: text(8), b: fc.oneof(text(), numberText, fc.boolean()) }),
    fc.record({ what: fc.constant('image in the last turn' as const), a: text(10), b: text(10) }),
  );

  it('changing a system message, temperature, a tool, an earlier turn, the model or any other member changes the scope', () => {
    fc.assert(
      fc.property(chatWithHistory, change, (body, c) => {
        const before = copy(body);
        const after = copy(body);
        const msgs = (b: Chat) => b.messages;
        switch (c.what) {
          case 'system message':
            fc.pre(c.a !== c.b);
            msgs(before).unshift({ role: 'system', content: c.a });
            msgs(after).unshift({ role: 'system', content: c.b });
            break;
          case 'temperature':
            fc.pre(toJsonText(c.a) !== toJsonText(c.b));
            before.temperature = c.a;
            after.temperature = c.b;
            break;
          case 'tool':
            fc.pre(toJsonText(c.a) !== toJsonText(c.b));
            before.tools = [c.a];
            after.tools = [c.b];
            break;
          case 'earlier turn': {
            fc.pre(toJsonText(c.a) !== toJsonText(c.b));
            const i = c.at % (msgs(before).length - 1);
            msgs(before)[i]!.content = c.a;
            msgs(after)[i]!.content = c.b;
            break;
          }
          case 'model':
            fc.pre(c.a !== c.b && c.a !== '' && c.b !== '');
            before.model = c.a;
            after.model = c.b;
            break;
          case 'new member':
            fc.pre(!Object.hasOwn(body, c.a) && c.a !== 'stream' && c.a !== 'stream_options');
            put(after, c.a, c.b);
            // A short name can be a member the wire checks ('n' must be a whole number): a body the request side
            // refuses never reaches buildKey, and request-parser.test.ts covers refusing it.
            fc.pre(keyOf('chat', after) !== undefined);
            break;
          case 'image in the last turn': {
            fc.pre(c.a !== c.b);
            const image = (url: string) => ({ type: 'image_url', image_url: { url } });
            const last = (b: Chat) => msgs(b)[msgs(b).length - 1]!;
            last(before).content = [{ type: 'text', text: 'what is this?' }, image(c.a)];
            last(after).content = [{ type: 'text', text: 'what is this?' }, image(c.b)];
            break;
          }
        }
        const a = validKey('chat', before);
        const b = validKey('chat', after);
        expect(b.scope, `${c.what} changed and the scope did not`).not.toBe(a.scope);
      }),
      runs(2000),
    );
  });

  it('normaliseText is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(text(40), fc.string({ unit: 'grapheme-composite', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 40 })), (s) => {
        const once = normaliseText(s);
        expect(normaliseText(once)).toBe(once);
      }),
      runs(10_000),
    );
  });
});
