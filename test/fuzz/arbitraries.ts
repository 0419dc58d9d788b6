/**
 * @module test/fuzz/arbitraries: fast-check generators the fuzz suites share: JSON text with the corners JSON.parse
 * and lossless-json read differently (huge numbers, repeated members, `__proto__`), request bodies for the three
 * cached endpoints, and mutations of them (wrong types, missing and extra members).
 */
import fc from 'fast-check';
import { rng } from '../helpers/vectors.js';

/**
 * Parameters for fc.assert: `numRuns` runs (the hardening issue asks for at least 1,000). The seed is random, and
 * fast-check prints it with the path of the shrunk counterexample when a property fails; FUZZ_SEED replays one.
 */
export function runs(numRuns: number): { numRuns: number; seed?: number } {
  const seed = process.env.FUZZ_SEED;
  return seed === undefined ? { numRuns } : { numRuns, seed: Number(seed) };
}

/** Characters that trip up text handling: line ends of every kind, BOM, combining marks, quotes, lone surrogates. */
const TRICKY = ['\n', '\r', '\r\n', ' ', '\t', '\u00a0', '\u2028', '\ufeff', '\u0301', 'e', 'é', '😀', '日', '"', '\\', '\u0000'];
export const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff'];

const char = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 1, arbitrary: fc.constantFrom(...LONE_SURROGATES) },
);

/** Any text, up to `maxLength` characters: all of Unicode, the tricky characters above more often than chance. */
export const text = (maxLength = 24) => fc.string({ unit: char, maxLength });

/** A number by its JSON text, for what a JS number cannot say: 2^64, 1e400, -0, 0.10. */
export class RawNumber {
  constructor(readonly text: string) {}
}

/** Members an object repeats after its own ones: the same key again, with the same or another value. */
export const REPEATS = Symbol('repeated members');
type Repeats = Array<[string, unknown]>;
type Model = Record<string, unknown> & { [REPEATS]?: Repeats };

/** Set an own member, `__proto__` included (plain assignment would set the prototype instead). */
export function put(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** JSON text of a generated value, `ws` between tokens; RawNumber as its text, REPEATS after the own members. */
export function toJsonText(value: unknown, ws = ''): string {
  const write = (v: unknown): string => {
    if (v instanceof RawNumber) return v.text;
    if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
    if (Array.isArray(v)) return `[${ws}${v.map(write).join(`${ws},${ws}`)}${ws}]`;
    const o = v as Model;
    const pairs: Repeats = [...Object.keys(o).map((k): [string, unknown] => [k, o[k]]), ...(o[REPEATS] ?? [])];
    return `{${ws}${pairs.map(([k, x]) => `${JSON.stringify(k)}${ws}:${ws}${write(x)}`).join(`${ws},${ws}`)}${ws}}`;
  };
  return write(value);
}

/** A deep copy of a generated value, keeping RawNumber, `__proto__` members and REPEATS. */
export function copy<T>(value: T): T {
  if (value === null || typeof value !== 'object' || value instanceof RawNumber) return value;
  if (Array.isArray(value)) return value.map(copy) as T;
  const o = value as Model;
  const out: Model = {};
  for (const k of Object.keys(o)) put(out, k, copy(o[k]));
  if (o[REPEATS]) out[REPEATS] = o[REPEATS].map(([k, v]): [string, unknown] => [k, copy(v)]);
  return out as T;
}

/** Member names: the ones the code reads, the ones JavaScript objects own, and ones a regex or a path may trip on. */
export const memberName = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      ...['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'length', 'model', 'messages', 'role'],
      ...['content', 'type', 'text', 'stream', 'stream_options', 'n', 'tools', 'prompt', 'input', 'a\nb', 'a\u2028b'],
      ...["it's", "' encountered at position 1", '', ' ', '0', '-1'],
    ),
  },
  { weight: 2, arbitrary: text(8) },
);

/** Numbers by their text: what JSON.parse rounds or overflows (2^53 + 1, 1e400), and ordinary ones. */
export const numberText = fc.oneof(
  fc.integer().map((n) => new RawNumber(String(n))),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => new RawNumber(JSON.stringify(n))),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map((n) => new RawNumber(String(n))),
  fc
    .constantFrom('1e400', '-1e400', '1e-400', '-0', '0.10', '1E2', '1e+2', '9007199254740993', '123456789012345678901234567890.5')
    .map((t) => new RawNumber(t)),
);

/** Objects JavaScript cannot turn into a primitive (`x >= 1` on them throws), bare or as a `length`. */
export const UNPRIMITIVE: unknown[] = [{ toString: null, valueOf: null }, { length: { toString: null } }, { length: { valueOf: {}, toString: {} } }, [{ toString: null }]];

/** Values that are the wrong type almost anywhere in a request. */
export const wrongValue = fc.constantFrom<unknown>(null, 0, -1, 1.5, 1e308, '', 'x', true, false, [], {}, [null], [[]], { type: 5 }, '__proto__', ...UNPRIMITIVE);

/** Any JSON value as a tree, objects possibly repeating members. */
export const jsonTree: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; array: unknown[]; object: Model }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    numberText,
    text(),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc
    .tuple(
      fc.array(fc.tuple(memberName, tie('value')), { maxLength: 5 }),
      fc.array(fc.tuple(fc.nat(), fc.option(tie('value'), { nil: undefined })), { maxLength: 2 }),
    )
    .map(([members, repeats]) => {
      const o: Model = {};
      for (const [k, v] of members) put(o, k, v);
      const keys = Object.keys(o);
      // A repeat takes an existing key, with a value of its own or (undefined) the same value again.
      if (keys.length > 0 && repeats.length > 0) {
        o[REPEATS] = repeats.map(([i, v]): [string, unknown] => [keys[i % keys.length]!, v === undefined ? copy(o[keys[i % keys.length]!]) : v]);
      }
      return o;
    }),
})).value;

/** Whitespace between tokens: none, or any mix JSON allows. */
export const jsonSpace = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');

// ---------------------------------------------------------------------------------------------------------------
// Request bodies

const textPart = fc.record({ type: fc.constant('text'), text: text() });
const imagePart = fc.record({
  type: fc.constant('image_url'),
  image_url: fc.record({ url: text(10).map((s) => `https://example.com/${s}`), detail: fc.constantFrom('low', 'high', 'auto') }, { requiredKeys: ['url'] }),
});
/** A message's content: a string, parts (text and images), or null. */
export const content = fc.oneof(text(), fc.array(fc.oneof(textPart, imagePart), { maxLength: 4 }), fc.constant(null));

const message = (role: fc.Arbitrary<string>) => fc.record({ role, content, name: text(6) }, { requiredKeys: ['role', 'content'] });
const anyRole = fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool');

/** History, then the last turn: a user's mostly. */
export const messages = fc
  .tuple(fc.array(message(anyRole), { maxLength: 4 }), fc.oneof({ weight: 4, arbitrary: message(fc.constant('user')) }, { weight: 1, arbitrary: message(anyRole) }))
  .map(([history, last]) => [...history, last]);

export const tool = fc.record({
  type: fc.constant('function'),
  function: fc.record(
    { name: text(8), description: text(), parameters: fc.constant({ type: 'object', properties: { city: { type: 'string' } } }) },
    { requiredKeys: ['name'] },
  ),
});

const streamFields = {
  stream: fc.oneof(fc.boolean(), fc.constant(null)),
  stream_options: fc.oneof(fc.record({ include_usage: fc.boolean() }, { requiredKeys: [] }), fc.constant(null)),
};

/** A chat completions body that the CHAT wire accepts. */
export const chatBody = fc.record(
  {
    model: fc.constantFrom('gpt-4o-mini', 'gpt-4o', 'o3'),
    messages,
    tools: fc.array(tool, { minLength: 1, maxLength: 3 }),
    temperature: fc.oneof(fc.double({ min: 0, max: 2, noNaN: true }), numberText),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    n: fc.integer({ min: 1, max: 4 }),
    seed: numberText,
    max_tokens: fc.integer({ min: 1, max: 4096 }),
    ...streamFields,
  },
  { requiredKeys: ['model', 'messages'] },
);

const promptish = fc.oneof(
  text(),
  fc.array(text(), { minLength: 1, maxLength: 3 }),
  fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 5 }),
  fc.array(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 2 }),
);

/** A legacy completions body that the COMPLETIONS wire accepts. */
export const completionsBody = fc.record(
  { model: fc.constantFrom('gpt-3.5-turbo-instruct', 'davinci-002'), prompt: promptish, temperature: fc.double({ min: 0, max: 2, noNaN: true }), ...streamFields },
  { requiredKeys: ['model', 'prompt'] },
);

/** An embeddings body that the EMBEDDINGS wire accepts. */
export const embeddingsBody = fc.record(
  { model: fc.constantFrom('text-embedding-3-small'), input: promptish, dimensions: fc.integer({ min: 1, max: 3072 }), encoding_format: fc.constant('float') },
  { requiredKeys: ['model', 'input'] },
);

// ---------------------------------------------------------------------------------------------------------------
// Mutations

export interface Mutation {
  /** which slot (a member or an element anywhere, the root included), modulo their number */
  at: number;
  kind: 'replace' | 'delete' | 'add' | 'repeat';
  /** the member name an `add` gives */
  name: string;
  /** a `repeat` writes the member's own value again (which JSON.parse and lossless-json both accept) */
  same: boolean;
  value: unknown;
}

export const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('replace', 'delete', 'add', 'repeat'),
  name: memberName,
  same: fc.boolean(),
  value: fc.oneof(wrongValue, numberText, jsonTree),
});

type Slot = { holder: Model | unknown[]; key: string | number };

function slotsOf(root: Model): Slot[] {
  const out: Slot[] = [];
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const v = todo.pop();
    if (v === null || typeof v !== 'object' || v instanceof RawNumber) continue;
    const keys: Array<string | number> = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    for (const key of keys) {
      out.push({ holder: v as Model, key });
      todo.push((v as Model)[key]);
    }
  }
  return out;
}

/** `body` with the mutations applied in order, each to the slot it picks at the time. */
export function mutate(body: unknown, mutations: Mutation[]): unknown {
  const root: Model = { v: copy(body) };
  for (const m of mutations) {
    const slots = slotsOf(root);
    const { holder, key } = slots[m.at % slots.length]!;
    const value = copy(m.value);
    if (m.kind === 'replace') put(holder, String(key), value);
    else if (m.kind === 'delete') {
      if (Array.isArray(holder)) holder.splice(key as number, 1);
      else if (holder !== root) delete holder[key as string];
    } else if (m.kind === 'add') {
      // Into the slot's value if it is a container, else beside it.
      const target = (holder as Model)[key];
      const into = target !== null && typeof target === 'object' && !(target instanceof RawNumber) ? target : holder;
      if (Array.isArray(into)) into.push(value);
      else put(into, m.name, value);
    } else if (!Array.isArray(holder) && holder !== root) {
      (holder[REPEATS] ??= []).push([key as string, m.same ? copy(holder[key as string]) : value]);
    }
  }
  return root.v;
}

/** Some mutations of a body: wrong types, members missing, members extra, members repeated. */
export const mutated = (body: fc.Arbitrary<unknown>) =>
  fc.tuple(body, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([b, ms]) => mutate(b, ms));

/** A small deterministic PRNG (mulberry32), for shuffles driven by a generated seed. */
export const prng = rng;

/** `value` with the members of every object in another order (arrays keep theirs). */
export function shuffleMembers(value: unknown, random: () => number): unknown {
  if (value === null || typeof value !== 'object' || value instanceof RawNumber) return value;
  if (Array.isArray(value)) return value.map((v) => shuffleMembers(v, random));
  const o = value as Model;
  const keys = Object.keys(o);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const out: Model = {};
  for (const k of keys) put(out, k, shuffleMembers(o[k], random));
  if (o[REPEATS]) out[REPEATS] = o[REPEATS].map(([k, v]): [string, unknown] => [k, shuffleMembers(v, random)]);
  return out;
}
