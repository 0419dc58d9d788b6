/**
 * Loading and deterministic tune/test splitting of labelled sentence pairs.
 *
 * The split depends only on each pair's text (never on file order), so it is
 * reproducible across runs, machines and re-orderings of the data file, and
 * any benchmark that imports it sees the same held-out test set.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** ../shared/data beside the repository, or $REPRISE_DATA. */
export const DATA_DIR = process.env.REPRISE_DATA ?? resolve(import.meta.dirname, "../../../shared/data");

export interface Pair {
  a: string;
  b: string;
  /** 1 = the two questions are duplicates (same intent), 0 = not. */
  label: 0 | 1;
}

export interface Split {
  /** ~75%: the only part any threshold or parameter may be chosen on. */
  tune: Pair[];
  /** ~25%: held out, used only to report numbers for already-chosen settings. */
  test: Pair[];
}

/** Read a JSONL file of `{"a","b","label"}` objects. */
export function loadPairs(file: string): Pair[] {
  const pairs: Pair[] = [];
  const lines = readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const o = JSON.parse(line) as Record<string, unknown>;
    if (typeof o.a !== "string" || typeof o.b !== "string" || (o.label !== 0 && o.label !== 1)) {
      throw new Error(`${file}:${i + 1}: expected {"a": string, "b": string, "label": 0|1}`);
    }
    pairs.push({ a: o.a, b: o.b, label: o.label });
  }
  return pairs;
}

/** 32-bit FNV-1a over the UTF-8 bytes of `s`, as an unsigned integer. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** True for the ~25% of pairs that belong to the held-out test split. */
export function isTestPair(p: Pick<Pair, "a" | "b">): boolean {
  return fnv1a32(p.a + "\u0000" + p.b) % 4 === 0;
}

/** Deterministically split QQP pairs into `tune` (~75%) and `test` (~25%). */
export function splitQqp(pairs: readonly Pair[]): Split {
  const tune: Pair[] = [];
  const test: Pair[] = [];
  for (const p of pairs) (isTestPair(p) ? test : tune).push(p);
  return { tune, test };
}

/** True for the half of paraphrase-easy held out from the learned verifier's training (salted apart from the qqp split). */
export function isEasyTestPair(p: Pick<Pair, "a" | "b">): boolean {
  return fnv1a32("easy\u0001" + p.a + "\u0000" + p.b) % 2 === 0;
}

/** The form in which two questions count as the same question (case and spacing aside). */
const sameQuestion = (s: string) => s.toLowerCase().replace(/\s+/g, " ").trim();

/**
 * The pairs the learned verifier may learn from: the qqp tune split and qqp-train, without any pair that shares a
 * question with the qqp test split (about 4,200 questions of qqp-train are also in qqp-dev; learning them would let
 * the test figures flatter the model). `dropped` counts what was left out.
 */
export function trainingPairs(): { pairs: Pair[]; dropped: number } {
  const { tune, test } = splitQqp(loadPairs(resolve(DATA_DIR, "qqp-dev.jsonl")));
  const held = new Set(test.flatMap((p) => [sameQuestion(p.a), sameQuestion(p.b)]));
  const all = [...tune, ...loadPairs(resolve(DATA_DIR, "qqp-train.jsonl"))];
  const pairs = all.filter((p) => !held.has(sameQuestion(p.a)) && !held.has(sameQuestion(p.b)));
  return { pairs, dropped: all.length - pairs.length };
}

/** Every sentence the verifier's training embeds: the full sets and qqp-train (one cache file of its own). */
export function trainingSentences(): string[] {
  return [...fullSentences(), ...loadPairs(resolve(DATA_DIR, "qqp-train.jsonl")).flatMap((p) => [p.a, p.b])];
}

/** Every sentence a full bench/quality run embeds: both sides of qqp-dev and paraphrase-easy (one cache file). */
export function fullSentences(): string[] {
  const qqp = loadPairs(resolve(DATA_DIR, "qqp-dev.jsonl"));
  const easy = loadPairs(resolve(DATA_DIR, "paraphrase-easy.jsonl"));
  return [...qqp, ...easy].flatMap((p) => [p.a, p.b]);
}
