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

/** The key tree of a body that JSON.parse has already accepted. */
export function keyTreeOf(text: string): unknown {
  try {
    return parse(text);
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
