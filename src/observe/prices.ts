/**
 * @module observe/prices: what a hit saved in dollars. A built-in table of list prices for common models (USD per
 * million tokens), which a JSON file can override or extend (--prices). A model is priced by its name in the table,
 * or as a dated snapshot of one ("gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929", "-latest"); any other
 * name (o1-mini is not o1, gpt-5-pro is not gpt-5) is one the table does not know, and counts tokens only.
 */

/** USD per million tokens. */
export interface Price {
  input: number;
  output: number;
}

/** What one answer cost upstream, by kind; `cachedInput` is input the upstream served from its own prompt cache. */
export interface Saved {
  input: number;
  output: number;
  cachedInput: number;
}

/** List prices, USD per million tokens, as the providers published them; --prices overrides them. */
const BUILT_IN: Readonly<Record<string, Price>> = {
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  o1: { input: 15, output: 60 },
  o3: { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'claude-opus-4': { input: 15, output: 75 },
  'claude-opus-4-1': { input: 15, output: 75 },
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-3-5-sonnet': { input: 3, output: 15 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-3-haiku': { input: 0.25, output: 1.25 },
};

/** What a dated snapshot adds to its family's name: a date, or an alias of the newest. */
const SNAPSHOT = /(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|@[\w.-]+)$/;

/** A token count as an answer's usage gives it, or 0 for anything that is not one (a usage field is upstream's text). */
export const tokenCount = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

export interface PriceTable {
  /** dollars `usage` cost for `model`, undefined when the table does not know it */
  cost(model: string, usage: Saved): number | undefined;
}

/** The table: the built-in prices, with `overrides` (from --prices) over them. */
export function prices(overrides: Readonly<Record<string, Price>> = {}): PriceTable {
  const table = { ...BUILT_IN, ...overrides };
  const memo = new Map<string, Price | undefined>();
  const priceOf = (model: string): Price | undefined => {
    if (memo.has(model)) return memo.get(model);
    const p = Object.hasOwn(table, model) ? table[model] : table[model.replace(SNAPSHOT, '')];
    if (memo.size < 1000) memo.set(model, p);
    return p;
  };
  return {
    cost(model, usage) {
      const p = priceOf(model);
      // Prompt-cache reads are the upstream's saving, not Reprise's: only fresh input and output are counted.
      return p && (usage.input * p.input + usage.output * p.output) / 1e6;
    },
  };
}

/** A --prices file's contents checked: `{ "<model>": { "input": n, "output": n } }`, USD per million tokens. */
export function parsePrices(json: unknown): Record<string, Price> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('a price file is a JSON object of model names');
  const out: Record<string, Price> = {};
  for (const [model, p] of Object.entries(json as Record<string, unknown>)) {
    const price = p as Partial<Price> | null;
    if (typeof price?.input !== 'number' || typeof price.output !== 'number' || price.input < 0 || price.output < 0) {
      throw new Error(`the price of ${model} needs "input" and "output", USD per million tokens`);
    }
    out[model] = { input: price.input, output: price.output };
  }
  return out;
}
