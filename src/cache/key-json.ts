/**
 * @module cache/key-json: a request body as the cache key reads it, which is as the upstream will read it. JSON.parse
 * loses what can change an answer: integers above 2^53 collapse (two seeds share an entry), `1e400` becomes Infinity
 * (and keys like `null`), a `"__proto__"` member can vanish on copy, and of a duplicated member only the last value
 * survives while the upstream may read the first. lossless-json keeps every number's source text and every member
 * as its own property, and refuses duplicates with different values, which Reprise answers with a 400.
 */
import { isLosslessNumber, parse } from 'lossless-json';
import { InvalidRequestError } from '../openai/errors.js';

/** A body whose nesting is too deep to key (the parser's stack ran out): the request fails open. */
export class KeyDepthError extends Error {
  override readonly name = 'KeyDepthError';
}

/** String literals at least this long are parsed natively (see `keyTreeOf`). */
const LONG_LITERAL = 1024;
/**
 * Stands in for a long string value while lossless-json reads the rest. It carries a random part made once per
 * process and never shown: a body could spell a fixed marker with escapes that no text search finds, and have one
 * of its strings read as another (or dropped from the key). A body that contains it anyway is read as is.
 */
let marker: string | undefined;
/** Made at first use: a Worker may not make random values at start-up, outside a request. */
function markerOf(): string {
  return (marker ??= `\\u0000reprise-long:${Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('')}:`);
}

/**
 * The key tree of a body that JSON.parse has already accepted. lossless-json is pure JavaScript and costs about 70 ms
 * per MB of prompt, on the thread every other request shares; a long string value holds no number or member, so each
 * is swapped for a short placeholder first, decoded with the native JSON.parse, and put back in the tree.
 */
export function keyTreeOf(text: string): unknown {
  const swapped = text.length >= LONG_LITERAL && !text.includes(markerOf()) ? swapLongStrings(text) : undefined;
  try {
    const tree = parse(swapped ? swapped.text : text);
    return swapped && swapped.values.length > 0 ? restore(tree, swapped.values) : tree;
  } catch (err) {
    if (err instanceof RangeError) throw new KeyDepthError('the body is nested too deeply to key');
    const m = /^Duplicate key '(.*)' encountered/s.exec((err as Error).message);
    if (m) {
      throw new InvalidRequestError(
        `The body has the member '${m[1]!.slice(0, 100)}' twice with different values; send each member once.`,
        m[1]!.slice(0, 100),
        'duplicate_key',
      );
    }
    throw err;
  }
}

/**
 * Each long string value replaced by `"<MARKER><n>"`; equal values share a placeholder, so lossless-json's duplicate
 * check still sees them equal. Member names stay as written, so its duplicate-key check still sees every name.
 */
function swapLongStrings(text: string): { text: string; values: string[] } {
  const out: string[] = [];
  const values: string[] = [];
  const index = new Map<string, number>();
  let copied = 0;
  let at = text.indexOf('"');
  while (at !== -1) {
    // The text is valid JSON, so outside a string every quote opens one; its end is the next unescaped quote.
    let end = text.indexOf('"', at + 1);
    for (;;) {
      let slashes = 0;
      while (text.charCodeAt(end - 1 - slashes) === 92) slashes++;
      if (slashes % 2 === 0) break;
      end = text.indexOf('"', end + 1);
    }
    if (end + 1 - at >= LONG_LITERAL && !isMemberName(text, end + 1)) {
      const value = JSON.parse(text.slice(at, end + 1)) as string;
      let n = index.get(value);
      if (n === undefined) {
        n = values.push(value) - 1;
        index.set(value, n);
      }
      out.push(text.slice(copied, at), `"${markerOf()}${n}"`);
      copied = end + 1;
    }
    at = text.indexOf('"', end + 1);
  }
  if (values.length === 0) return { text, values };
  out.push(text.slice(copied));
  return { text: out.join(''), values };
}

/** Whether the string literal that ends just before `from` is a member name (a colon follows it). */
function isMemberName(text: string, from: number): boolean {
  let i = from;
  while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  return text[i] === ':';
}

/** Puts the long strings back where their placeholders are; iterative, as the tree may be deep. */
function restore(tree: unknown, values: string[]): unknown {
  const prefix = JSON.parse(`"${markerOf()}"`) as string;
  // Only a placeholder as written: the marker, then the index of a value that was swapped out.
  const original = (v: unknown): unknown => {
    if (typeof v !== 'string' || !v.startsWith(prefix)) return v;
    const n = v.slice(prefix.length);
    return /^\d+$/.test(n) && Number(n) < values.length ? values[Number(n)] : v;
  };
  const todo: unknown[] = [tree];
  while (todo.length > 0) {
    const node = todo.pop();
    if (node === null || typeof node !== 'object' || isLosslessNumber(node)) continue;
    const obj = node as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      if (typeof v === 'string') obj[k] = original(v);
      else todo.push(v);
    }
  }
  return original(tree);
}

/**
 * JSON with object keys sorted at every depth, so `{a,b}` and `{b,a}` hash alike; numbers as written in the body;
 * `undefined` members dropped, as JSON.stringify drops them. Iterative, so no nesting depth exhausts the stack.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Work items: a value to write, or a literal to emit (the punctuation between and after members).
  const todo: Array<{ v: unknown } | string> = [{ v: value }];
  while (todo.length > 0) {
    const item = todo.pop()!;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const v = item.v;
    if (v === null || v === undefined) out.push('null');
    else if (isLosslessNumber(v)) out.push(v.value);
    else if (typeof v !== 'object') out.push(JSON.stringify(v) ?? 'null');
    else if (Array.isArray(v)) {
      out.push('[');
      todo.push(']');
      for (let i = v.length - 1; i >= 0; i--) {
        todo.push({ v: v[i] });
        if (i > 0) todo.push(',');
      }
    } else {
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      out.push('{');
      todo.push('}');
      for (let i = keys.length - 1; i >= 0; i--) {
        todo.push({ v: obj[keys[i]!] });
        todo.push(`${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:`);
      }
    }
  }
  return out.join('');
}
