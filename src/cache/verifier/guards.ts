/**
 * @module cache/verifier/guards: cheap textual checks that reject near-identical questions asking different things.
 * Each guard compares one kind of detail that embeddings blur: numbers and versions (digits and number words
 * alike), ordinals and position words, negation, quoted strings, names, units, direction words ("ascending" vs
 * "descending"), the roles of two words around a relation ("convert X to Y" vs "convert Y to X"), and the
 * indentation of code and YAML.
 *
 * The rules, and why each is general rather than a list tuned to examples:
 * - numbers: digits and spelled-out numbers are read as one list of values ("two weeks" and "2 weeks" both say 2;
 *   "twenty-one", "a hundred", "5 million", "a dozen" and "twice"/"double"/"half" are read too). A spelled-out
 *   "one" (and "once") may stand on one side only, since it is also a pronoun ("which one", "the one who") and
 *   "one week" says what "a week" says; any other value on one side only is a difference. Vague quantities
 *   ("a couple of", "a few", "several") are not numbers, so they never equal an exact one.
 * - ordinal: positions counted from the start ("second", "3rd", "twenty-first") must be the same on both sides
 *   ("first" alone may be dropped: "when did X first" ≈ "when did X"); a day of the month ("4th of July", "May
 *   1st") is a number, not a position; "a second" or "1 second" of time is neither. A number and an ordinal of the
 *   same value may name one thing ("World War 2" = "the Second World War"), so where the numbers and ordinals of
 *   both texts together are the same values, neither guard fails. Position words that point
 *   opposite ways (first/last, earliest/latest, oldest/newest, top/bottom, upper/lower, beginning/end,
 *   next/previous, front/back, earlier/later, former/latter) fail as direction words do: only when one text has
 *   one end and the other text only the other.
 * - roles: over the tokens both texts use exactly once (articles left out), the guard looks for three stretches
 *   that come X, M, Y in one text and Y, M, X in the other, with X and Y holding a content word: the words that
 *   fill a relation's slots have swapped ("Is Jupiter bigger than Saturn" vs "Is Saturn bigger than Jupiter",
 *   "from London to Paris" vs "from Paris to London"). Where M is only a symmetric connector ("and", "or", "vs",
 *   "versus", "compared to", a comma or slash), the comparison reads the same both ways and passes ("Python vs
 *   Java" ≈ "Java vs Python"). Moving a clause ("In Python, how…" vs "How… in Python") swaps two stretches with
 *   nothing between them, which is not a role swap.
 */
import { LRUCache } from 'lru-cache';
import { joinScales, numberWordsIn, sameNumbers, sameOrdinals } from './number-words.js';
import { onceIndex, roleTokens, swappedRoles } from './roles.js';

/** Numbers, versions, dates and times in a text, in order ("3.11", "2024-05-01", "10:30", "-5"). */
export function numbersIn(text: string): string[] {
  // A minus counts only where it cannot be a hyphen ("-5" yes, "COVID-19" no).
  return (text.match(/(?:(?<![\w.])-)?\d+(?:[.,:/-]\d+)*/g) ?? []).map((n) => n.replace(/,(?=\d{3}\b)/g, ''));
}

/**
 * Texts that differ in any number ask different questions ("Python 3.11" vs "Python 3.12", "two people" vs "four
 * people"); digits and number words are compared as values ("2 weeks" = "two weeks").
 */
export function numbersAgree(a: string, b: string): boolean {
  return numberFactsAgree(factsOf(a), factsOf(b));
}

const numberFactsAgree = (a: Facts, b: Facts) => sameNumbers(a.numbers, a.optionalOnes, b.numbers, b.optionalOnes) || numberedAlike(a, b);

/**
 * A number and an ordinal of the same value may name one thing ("World War 2" = "the Second World War", "chapter 3"
 * = "the third chapter"): when the numbers and ordinals of both texts, taken together, are the same values, neither
 * guard fails ("first", like "one", may stand on one side only).
 */
function numberedAlike(a: Facts, b: Facts): boolean {
  if (a.ordinals.length === 0 && b.ordinals.length === 0) return false;
  const all = (f: Facts) => (f.numbered ??= [...f.numbers, ...f.ordinals.map(String)].sort());
  const ones = (f: Facts) => f.optionalOnes + f.ordinals.filter((v) => v === 1).length;
  return sameNumbers(all(a), ones(a), all(b), ones(b));
}

/**
 * Every number of a text, digits and words together, sorted: the digits as written (versions, dates and times whole,
 * "5 million" joined), the words as values. Digits with an ordinal suffix ("21st") are positions, not counted here
 * unless they are a day of the month.
 */
function allNumbers(text: string, words: { numbers: string[] }): string[] {
  const digits = numbersIn(joinScales(text).replace(/\b\d+(?:st|nd|rd|th)\b/gi, ' '));
  return words.numbers.length === 0 ? digits.sort() : [...digits, ...words.numbers].sort();
}

const sameList = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);

// Explicit negators only: "without", "none" and the like are often paraphrased away ("without X" ≈ "does not need X").
const NEGATION = /\b(?:not|no|never|cannot)\b|n't\b/gi;

/**
 * How many negations a text carries; an odd difference flips the meaning. An answer word opening a sentence ("No,
 * X does not exist") and "or not" ("whether X or not") negate nothing.
 */
export function negations(text: string): number {
  const t = text
    .replace(/’/g, "'")
    .replace(/(^|[.!?]\s+)no\s*[,.:;!]/gi, '$1')
    .replace(/\bor\s+not\b/gi, '');
  return (t.match(NEGATION) ?? []).length;
}

/**
 * A negation flip counts where the two texts otherwise say nearly the same words ("Should I use tabs?" vs "Should I
 * not use tabs?"). Reworded paraphrases often trade a negation for another word ("Don't forget" ≈ "Remember").
 */
export function negationAgrees(a: string, b: string): boolean {
  return negationFactsAgree(factsOf(a), factsOf(b));
}

function negationFactsAgree(a: Facts, b: Facts): boolean {
  if (a.negations % 2 === b.negations % 2) return true;
  return overlap((a.words ??= wordsOf(a.text)), (b.words ??= wordsOf(b.text))) < 0.7;
}

/** Jaccard overlap of the lowercase words of two texts, negators left out. */
export function wordOverlap(a: string, b: string): number {
  return overlap(wordsOf(a), wordsOf(b));
}

const wordsOf = (t: string) => new Set((t.toLowerCase().replace(/n't\b/g, ' ').match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !/^(?:not|no|never|cannot)$/.test(w)));

function overlap(x: Set<string>, y: Set<string>): number {
  let inter = 0;
  for (const w of x) if (y.has(w)) inter++;
  const union = x.size + y.size - inter;
  return union === 0 ? 1 : inter / union;
}

/** Quoted strings must match exactly: they are usually literal values (`"foo"`, 'bar', `baz`). */
export function quotedIn(text: string): string[] {
  return [...text.matchAll(/"([^"]{1,80})"|“([^”]{1,80})”|`([^`]{1,80})`/g)].map((m) => (m[1] ?? m[2] ?? m[3]!).trim().toLowerCase()).sort();
}

/**
 * Quoted literals must not be swapped: it is a swap when each text quotes something the other does not mention at
 * all (`yield` vs `emit`). Quoting on one side only, or quoting more or fewer of the same words, is style.
 */
export function quotesAgree(a: string, b: string): boolean {
  const x = factsOf(a);
  const y = factsOf(b);
  return noSwap(x.quoted, x.lower, y.quoted, y.lower);
}

/** A swap: each side has an item (quoted literal, name) that the other side's text does not mention at all. */
function noSwap(itemsA: string[], lowerA: string, itemsB: string[], lowerB: string): boolean {
  return !(itemsA.some((q) => !lowerB.includes(q)) && itemsB.some((q) => !lowerA.includes(q)));
}

/** Pairs of words that point opposite ways; a query with one and an entry with the other ask different things. */
const OPPOSITES: Array<[RegExp, RegExp]> = [
  [/\bascending\b/i, /\bdescending\b/i],
  [/\bincreas/i, /\bdecreas/i],
  [/\bbefore\b/i, /\bafter\b/i],
  [/\bmin(?:imum)?\b/i, /\bmax(?:imum)?\b/i],
  [/\b(?:most|best|highest|largest|biggest|longest)\b/i, /\b(?:least|worst|lowest|smallest|shortest)\b/i],
  [/\b(?:buy|buying|purchase)\b/i, /\b(?:sell|selling)\b/i],
  [/\b(?:import|imports)\b/i, /\b(?:export|exports)\b/i],
  [/\b(?:encrypt|encode)/i, /\b(?:decrypt|decode)/i],
  [/\b(?:upload)/i, /\b(?:download)/i],
  [/\b(?:enable|enabling)\b/i, /\b(?:disable|disabling)\b/i],
  [/\b(?:add|adding)\b/i, /\b(?:remove|removing|delete|deleting)\b/i],
  [/\b(?:celsius|centigrade)\b/i, /\bfahrenheit\b/i],
  [/\b(?:km|kilomet(?:er|re)s?)\b/i, /\bmiles?\b/i],
  [/\b(?:kg|kilograms?)\b/i, /\b(?:lbs?|pounds?)\b/i],
  [/\b(?:cm|centimet(?:er|re)s?)\b/i, /\binch(?:es)?\b/i],
];

/** The query and the entry do not use opposite words of any pair above. */
export function directionAgrees(a: string, b: string): boolean {
  return directionFactsAgree(factsOf(a).direction, factsOf(b).direction);
}

/** Per pair of OPPOSITES: 1 when a text has only the first word, 2 only the second, 0 neither or both. */
function directionOf(text: string, pairs = OPPOSITES): number[] {
  return pairs.map(([x, y]) => {
    const hasX = x.test(text);
    const hasY = y.test(text);
    return hasX === hasY ? 0 : hasX ? 1 : 2;
  });
}

function directionFactsAgree(a: number[], b: number[]): boolean {
  // Only a one-sided swap counts: "from Celsius to Fahrenheit" uses both words on both sides.
  for (let i = 0; i < a.length; i++) if (a[i]! + b[i]! === 3) return false;
  return true;
}

/**
 * Capitalised words that are not sentence-initial, and all-caps or mixed-case tokens: names of people, places,
 * products. "capital of France" vs "capital of Germany".
 */
export function namesIn(text: string): Set<string> {
  const out = new Set<string>();
  for (const sentence of text.split(/(?<=[.?!])\s+/)) {
    const words = sentence.match(/[\p{L}\p{N}][\p{L}\p{N}+#.'-]*/gu) ?? [];
    words.forEach((w, i) => {
      const clean = w.replace(/[.'-]+$/, '');
      if (i > 0 && /^\p{Lu}/u.test(clean) && !/^I$/.test(clean)) out.add(clean.toLowerCase());
      else if (/\p{Ll}\p{Lu}|^\p{Lu}{2,}/u.test(clean)) out.add(clean.toLowerCase());
    });
  }
  return out;
}

/**
 * No swapped names: it is a swap when each text names something the other does not mention ("France" vs
 * "Germany"). A name on one side only is usually an elaboration or a spelling ("Huggingface.js" vs "Hugging Face").
 */
export function namesAgree(a: string, b: string): boolean {
  const x = factsOf(a);
  const y = factsOf(b);
  return noSwap(x.names, x.lower, y.names, y.lower);
}

/**
 * The indented lines of a text after its first line (code, YAML, nested lists), each with its indentation as
 * written. Embeddings and word-level guards do not see indentation, but a program whose last line moved into its
 * loop, or a YAML key moved up a level, says something else. A single line's leading spaces are not layout.
 */
export function layoutOf(text: string): string[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n').filter((l) => l.trim() !== '');
  const out: string[] = [];
  for (const line of lines.slice(1)) {
    const m = /^([ \t]+)(\S.*?)\s*$/.exec(line);
    if (m) out.push(`${m[1]}${m[2]}`);
  }
  return out;
}

/** Texts whose indented lines differ (in indentation or content) are not the same question. */
export function layoutAgrees(a: string, b: string): boolean {
  return sameList(factsOf(a).layout, factsOf(b).layout);
}

/**
 * Position words that point opposite ways: one text with only the first of a pair and the other with only the second
 * name different items ("the first day of spring" vs "the last day of spring"). Ordinals are compared as values.
 */
const POSITIONS: Array<[RegExp, RegExp]> = [
  [/\b(?:first|earliest|initial|1st)\b/i, /\b(?:last|latest|final)\b/i],
  [/\b(?:oldest|eldest|older|elder)\b/i, /\b(?:newest|youngest|newer|younger|latest)\b/i],
  [/\b(?:top|topmost)\b/i, /\b(?:bottom|bottommost)\b/i],
  [/\b(?:upper|uppercase|upper-case)\b/i, /\b(?:lower|lowercase|lower-case)\b/i],
  [/\b(?:beginning|start)\s+of\b|\b(?:the|at)\s+(?:beginning|start)\b/i, /\bend\s+of\b|\bthe\s+end\b/i],
  [/\b(?:next|upcoming|subsequent)\b/i, /\b(?:previous|prior|preceding|last)\b/i],
  [/\b(?:front|frontend|front-end)\b/i, /\b(?:back|rear|backend|back-end)\b/i],
  [/\b(?:earlier|sooner)\b/i, /\blater\b/i],
  [/\bformer\b/i, /\blatter\b/i],
];

/** The ordinals and position words of the two texts agree ("second largest" vs "third largest" do not). */
export function ordinalsAgree(a: string, b: string): boolean {
  return ordinalFactsAgree(factsOf(a), factsOf(b));
}

const ordinalFactsAgree = (a: Facts, b: Facts) =>
  (sameOrdinals(a.ordinals, b.ordinals) || numberedAlike(a, b)) && directionFactsAgree(a.positions, b.positions);

/**
 * The same words, but the fillers of a relation's slots swapped ("convert miles to km" vs "convert km to miles");
 * symmetric comparisons ("X vs Y", "X or Y") pass.
 */
export function rolesAgree(a: string, b: string): boolean {
  return roleFactsAgree(factsOf(a), factsOf(b));
}

function roleFactsAgree(a: Facts, b: Facts): boolean {
  a.tokens ??= roleTokens(a.lower);
  b.tokens ??= roleTokens(b.lower);
  a.once ??= onceIndex(a.tokens);
  b.once ??= onceIndex(b.tokens);
  return swappedRoles(a.tokens, a.once, b.once) === undefined;
}

export type Guard = 'numbers' | 'ordinal' | 'negation' | 'quotes' | 'direction' | 'names' | 'layout' | 'roles';

/**
 * The first guard that tells the two texts apart, or undefined when none does. `partition` (the tenant) keeps the
 * memo of each text's facts apart: a remembered text is checked faster, which must tell no one what others sent.
 */
export function failedGuard(query: string, candidate: string, partition = ''): Guard | undefined {
  const q = factsOf(query, partition);
  const c = factsOf(candidate, partition);
  if (!numberFactsAgree(q, c)) return 'numbers';
  if (!ordinalFactsAgree(q, c)) return 'ordinal';
  if (!negationFactsAgree(q, c)) return 'negation';
  if (!noSwap(q.quoted, q.lower, c.quoted, c.lower)) return 'quotes';
  if (!directionFactsAgree(q.direction, c.direction)) return 'direction';
  if (!noSwap(q.names, q.lower, c.names, c.lower)) return 'names';
  if (!sameList(q.layout, c.layout)) return 'layout';
  if (!roleFactsAgree(q, c)) return 'roles';
  return undefined;
}

/** What the guards look at in one text, worked out once per text. */
interface Facts {
  text: string;
  lower: string;
  /** digits and number words as values, sorted */
  numbers: string[];
  /** how many "1"s of `numbers` are the word "one" or "once", which may stand on one side only */
  optionalOnes: number;
  /** positions counted from the start ("second" → 2) */
  ordinals: number[];
  /** `numbers` and `ordinals` together, sorted, worked out when a text has ordinals */
  numbered?: string[];
  /** per pair of POSITIONS, as `direction` */
  positions: number[];
  negations: number;
  /** for the word overlap, only needed when negations differ */
  words?: Set<string>;
  quoted: string[];
  direction: number[];
  names: string[];
  layout: string[];
  /** for the role check, worked out on its first use (it runs last, on candidates that passed the rest) */
  tokens?: string[];
  once?: Map<string, number>;
}

/**
 * Stored entries are compared with every query that lands near them, and a query with each of its candidates, so a
 * text's facts are remembered (the regexes were most of a semantic hit's verification time).
 */
const facts = new LRUCache<string, Facts>({
  max: 10_000,
  // Texts can be long (a pasted document): about 2.7M characters in all, each counted three times (the text, its
  // lower-case copy, and the role check's tokens once worked out), and a text over a tenth of that is worked out each
  // time rather than kept.
  maxSize: 8_000_000,
  maxEntrySize: 800_000,
  sizeCalculation: (f) => 3 * f.text.length + 64,
});

function factsOf(text: string, partition = ''): Facts {
  const key = `${partition}\u0000${text}`;
  let f = facts.get(key);
  if (!f) {
    const lower = text.toLowerCase();
    const words = numberWordsIn(lower);
    f = {
      text,
      lower,
      numbers: allNumbers(text, words),
      optionalOnes: words.optionalOnes,
      ordinals: words.ordinals,
      positions: directionOf(text, POSITIONS),
      negations: negations(text),
      quoted: quotedIn(text),
      direction: directionOf(text),
      names: [...namesIn(text)],
      layout: layoutOf(text),
    };
    facts.set(key, f);
  }
  return f;
}
