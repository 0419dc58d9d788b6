/**
 * @module test/fuzz/request-parser: fuzz the request boundary as cache/pipeline.ts crosses it: parseJson, the wire's
 * parse, then keyTreeOf. Whatever the body, each step returns or throws a 400 RepriseError; keyTreeOf may also throw
 * KeyDepthError (too deep to key: the request fails open). Nothing else may escape: a TypeError or RangeError here
 * would be a 500 for what is the client's mistake.
 */
import fc from 'fast-check';
import { isLosslessNumber, parse as losslessParse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { KeyDepthError, keyTreeOf } from '../../src/cache/key-json.js';
import type { WireApi } from '../../src/cache/wire.js';
import { RepriseError } from '../../src/openai/errors.js';
import { parseJson } from '../../src/openai/request.js';
import { CHAT, COMPLETIONS, EMBEDDINGS } from '../../src/openai/wire.js';
import {
  chatBody,
  completionsBody,
  embeddingsBody,
  jsonSpace,
  jsonTree,
  mutate,
  mutated,
  RawNumber,
  REPEATS,
  runs,
  text,
  toJsonText,
  UNPRIMITIVE,
} from './arbitraries.js';

const WIRES: Record<string, WireApi> = { chat: CHAT, completions: COMPLETIONS, embeddings: EMBEDDINGS };
/** The wire by its endpoint's name, so a counterexample prints as "chat" rather than as the wire's functions. */
const wire = fc.constantFrom('chat', 'completions', 'embeddings');

const describeError = (e: unknown) => (e instanceof Error ? `${e.constructor.name}: ${e.message.slice(0, 200)}` : `non-error ${String(e)}`);

/** Fails the property unless `e` is a 400 RepriseError (or, when `depth`, a KeyDepthError). */
function mustBeRefusal(step: string, e: unknown, depth = false): void {
  if (e instanceof RepriseError && e.status === 400) return;
  if (depth && e instanceof KeyDepthError) return;
  throw new Error(`${step} let through ${describeError(e)}`);
}

/** What the pipeline does with a body: parseJson, wire.parse, keyTreeOf; how far it got. */
function cross(endpoint: string, body: string): 'refused' | 'too-deep' | 'keyed' {
  const w = WIRES[endpoint]!;
  let json: unknown;
  try {
    json = parseJson(body);
  } catch (e) {
    mustBeRefusal('parseJson', e);
    return 'refused';
  }
  try {
    const parsed = w.parse(json);
    // What the pipeline reads from it next (policy, answer form) has the types it says.
    if (parsed.endpoint !== w.endpoint || typeof parsed.model !== 'string' || typeof parsed.stream !== 'boolean' || typeof parsed.includeUsage !== 'boolean') {
      throw new Error(`parse returned ${JSON.stringify(parsed).slice(0, 200)}`);
    }
  } catch (e) {
    mustBeRefusal(`${w.endpoint} parse`, e);
    return 'refused';
  }
  try {
    keyTreeOf(body);
  } catch (e) {
    mustBeRefusal('keyTreeOf', e, true);
    return e instanceof KeyDepthError ? 'too-deep' : 'refused';
  }
  return 'keyed';
}

/** A body nested `depth` deep, at the root, in a message's content part, or in a parameter. */
const deepBody = fc
  .record({
    // Mostly around where lossless-json's recursion gives out (a few thousand); now and then far past it.
    depth: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 6000 }) }, { weight: 1, arbitrary: fc.constantFrom(10_000, 30_000, 60_000) }),
    where: fc.constantFrom('root', 'content', 'param', 'tool'),
    open: fc.constantFrom('[', '{"a":', '[{"type":"text","text":"x","a":'),
  })
  .map(({ depth, where, open }) => {
    const close = open === '[' ? ']' : open === '{"a":' ? '}' : '}]';
    const deep = open.repeat(depth) + '1' + close.repeat(depth);
    const user = (c: string) => `{"model":"m","messages":[{"role":"user","content":${c}}]`;
    if (where === 'root') return deep;
    if (where === 'content') return `${user(`[{"type":"image_url","image_url":${deep}}]`)}}`;
    if (where === 'param') return `${user('"hi"')},"metadata":${deep}}`;
    return `${user('"hi"')},"tools":[{"type":"function","function":{"name":"f","parameters":${deep}}}]}`;
  });

/** Bodies near the edge of valid: generated valid bodies with mutations, as text with any spacing. */
const nearValid = fc
  .tuple(fc.oneof(mutated(chatBody), mutated(completionsBody), mutated(embeddingsBody), chatBody), jsonSpace)
  .map(([b, ws]) => toJsonText(b, ws));

describe('fuzz: the request boundary (parseJson → wire.parse → keyTreeOf)', () => {
  it('random text never throws anything but a 400', () => {
    fc.assert(
      fc.property(wire, fc.oneof(text(200), fc.string({ unit: 'binary', maxLength: 200 })), (w, body) => {
        cross(w, body);
      }),
      runs(3000),
    );
  });

  it('random JSON (fc.json, fc.jsonValue) never throws anything but a 400', () => {
    fc.assert(
      fc.property(wire, fc.oneof(fc.json({ maxDepth: 6 }), fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v) ?? 'null')), (w, body) => {
        cross(w, body);
      }),
      runs(2000),
    );
  });

  it('JSON with repeated members, __proto__ members and huge numbers never throws anything but a 400', () => {
    fc.assert(
      fc.property(wire, jsonTree, jsonSpace, (w, tree, ws) => {
        cross(w, toJsonText(tree, ws));
        // The same tree as the body of a request that is otherwise valid.
        const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], prompt: 'p', input: 'i', extra: tree };
        cross(w, toJsonText(body, ws));
      }),
      runs(2000),
    );
  });

  it('valid bodies with wrong types, missing or extra members never throw anything but a 400', () => {
    const seen = { refused: 0, keyed: 0, 'too-deep': 0 };
    fc.assert(
      fc.property(wire, nearValid, (w, body) => {
        seen[cross(w, body)]++;
      }),
      runs(3000),
    );
    // The generator reaches both sides of the boundary, not only refusals.
    expect(seen.keyed).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(100);
  });

  it('a value that cannot become a primitive, in place of any member of a valid body, is a 400', () => {
    fc.assert(
      fc.property(wire, fc.oneof(chatBody, completionsBody, embeddingsBody), fc.nat(), fc.constantFrom(...UNPRIMITIVE), (w, body, at, value) => {
        cross(w, toJsonText(mutate(body, [{ at, kind: 'replace', name: '', same: false, value }])));
      }),
      runs(1000),
    );
  });

  it('a member repeated with a line break in its name is a 400, not a SyntaxError', () => {
    fc.assert(
      fc.property(text(6), fc.constantFrom('\n', '\r', '\u2028', '\u2029'), text(6), (before, eol, after) => {
        const name = before + eol + after;
        const body = toJsonText({ model: 'm', messages: [{ role: 'user', content: 'hi' }], [name]: 1, [REPEATS]: [[name, 2]] });
        cross('chat', body);
      }),
      runs(1000),
    );
  });

  it('deep nesting anywhere never throws anything but a 400 or KeyDepthError', () => {
    fc.assert(
      fc.property(wire, deepBody, (w, body) => {
        cross(w, body);
      }),
      runs(1000),
    );
  });

  it('keyTreeOf reads every body JSON.parse accepts as JSON.parse does, or refuses a repeated member with a 400', () => {
    /** The key tree with its numbers as JSON.parse reads them, to compare with JSON.parse's tree. */
    const asParsed = (v: unknown): unknown => {
      if (isLosslessNumber(v)) return Number(v.value);
      if (Array.isArray(v)) return v.map(asParsed);
      if (v === null || typeof v !== 'object') return v;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: asParsed((v as Record<string, unknown>)[k]), enumerable: true });
      return out;
    };
    fc.assert(
      fc.property(fc.oneof(jsonTree, fc.jsonValue({ maxDepth: 5 })), jsonSpace, (tree, ws) => {
        const body = toJsonText(tree, ws);
        const parsed = JSON.parse(body) as unknown;
        let keyed: unknown;
        try {
          keyed = keyTreeOf(body);
        } catch (e) {
          mustBeRefusal('keyTreeOf', e, true);
          if (e instanceof RepriseError) expect(e.code).toBe('duplicate_key');
          return;
        }
        expect(asParsed(keyed)).toEqual(parsed);
      }),
      runs(2000),
    );
  });

  it('long strings (read natively, outside lossless-json) come back exactly where they were', () => {
    // Strings near and past the 1 KB cut, made of what breaks a hand-written string scanner: quotes, backslashes,
    // escapes of control characters, the colon that marks a member name, surrogate pairs.
    const unit = fc.constantFrom('a', '"', '\\', '\\"', '\u0000', '\u2028', 'é', '😀', ':', ' ', '\n');
    const long = fc
      .tuple(fc.array(unit, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1000, max: 1400 }))
      .map(([units, n]) => units.join('').repeat(Math.ceil(n / units.join('').length)).slice(0, n));
    const str = fc.oneof(long, fc.string({ maxLength: 5 }));
    const { tree } = fc.letrec((t) => ({
      tree: fc.oneof({ depthSize: 'small' }, str, fc.integer(), t('arr'), t('obj')),
      arr: fc.array(t('tree'), { maxLength: 4 }),
      obj: fc.dictionary(str, t('tree'), { maxKeys: 4 }),
    }));
    fc.assert(
      fc.property(tree, fc.constantFrom(0, 2), (v, indent) => {
        const body = JSON.stringify(v, null, indent);
        expect(keyTreeOf(body)).toEqual(losslessParse(body));
      }),
      runs(500),
    );
    const big = 'x'.repeat(2000);
    // Equal long values under one name, written with different escapes, are one value; different ones are a 400.
    expect(keyTreeOf(`{"a":"${big}","a":"\\u0078${big.slice(1)}"}`)).toEqual({ a: big });
    expect(() => keyTreeOf(`{"a":"${big}","a":"${big}y"}`)).toThrow(RepriseError);
    // A body that already holds the placeholder's text is read the slow way, and read right.
    const marked = `{"a":"\\u0000reprise-long:0","b":"${big}"}`;
    expect(keyTreeOf(marked)).toEqual(JSON.parse(marked));
  });

  it('numbers JSON.parse cannot hold pass the wire and key by their text', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('temperature', 'seed', 'n', 'top_p', 'max_tokens'),
        fc.oneof(fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '18446744073709551617'), fc.bigInt().map(String)),
        (name, num) => {
          const body = toJsonText({ model: 'm', messages: [{ role: 'user', content: 'hi' }], [name]: new RawNumber(num) });
          cross('chat', body);
        },
      ),
      runs(1000),
    );
  });
});
