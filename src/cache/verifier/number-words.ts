/**
 * @module cache/verifier/number-words: the numbers a text spells out, and the positions (ordinals) it names, read
 * as values so that "two weeks" and "2 weeks" agree and "two people" and "four people" do not. See the module
 * comment of cache/verifier/guards for the rules.
 */

const UNITS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11,
  twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
};
const TENS: Record<string, number> = { twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90 };
const SCALES: Record<string, number> = { hundred: 100, thousand: 1e3, million: 1e6, billion: 1e9, trillion: 1e12 };
const ORDINAL_UNITS: Record<string, number> = {
  first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9, tenth: 10,
  eleventh: 11, twelfth: 12, thirteenth: 13, fourteenth: 14, fifteenth: 15, sixteenth: 16, seventeenth: 17,
  eighteenth: 18, nineteenth: 19,
};
const ORDINAL_TENS: Record<string, number> = {
  twentieth: 20, thirtieth: 30, fortieth: 40, fiftieth: 50, sixtieth: 60, seventieth: 70, eightieth: 80, ninetieth: 90,
};
const ORDINAL_SCALES: Record<string, number> = { hundredth: 100, thousandth: 1e3, millionth: 1e6, billionth: 1e9 };
/** Words that say how many times (or what part) without a numeral; each stands for its value. */
const MULTIPLES: Record<string, string> = {
  twice: '2', double: '2', doubled: '2', doubles: '2', doubling: '2',
  thrice: '3', triple: '3', tripled: '3', triples: '3', tripling: '3',
  quadruple: '4', quadrupled: '4', quadruples: '4', quadrupling: '4',
  half: '1/2', halve: '1/2', halved: '1/2', halves: '1/2', halving: '1/2', quarter: '1/4',
  dozen: '12',
};
/** A plural fraction after a count: "two thirds" is 2/3, "three quarters" 3/4. */
const FRACTIONS: Record<string, number> = {
  halves: 2, thirds: 3, quarters: 4, fourths: 4, fifths: 5, sixths: 6, sevenths: 7, eighths: 8, ninths: 9, tenths: 10,
};
/** Plural scale words are a magnitude, not a count: "hundreds of people" is neither 100 nor "thousands of". */
const MAGNITUDES: Record<string, string> = { dozens: '12s', hundreds: '100s', thousands: '1000s', millions: '1000000s', billions: '1000000000s' };
/** A scale word after one of these is a magnitude too: "several thousand" says what "thousands of" says. */
const VAGUE = new Set(['several', 'few', 'many', 'some', 'multiple']);
const MONTHS = new Set(
  'january february march april may june july august september october november december jan feb mar apr jun jul aug sep sept oct nov dec'.split(' '),
);
/**
 * Function words: a "second" followed by one of these (or by nothing) after "a", "per" or a count is a second of
 * time ("wait a second", "1 second to", "per second"), not a position.
 */
const FUNCTION_WORDS = new Set(
  'a an the is are was were be been am do does did of to in on at for from by with about as and or but if then than so that this these those it its i me my you your we our they their he she his her what which who when where why how can could should would will shall may might must have has had not no into over under ago later longer faster slower per each every'.split(' '),
);

/** Any word this module reads; a text without one (most texts) is scanned no further. */
const ANY = new RegExp(
  `\\b(?:${[...Object.keys(UNITS), ...Object.keys(TENS), ...Object.keys(SCALES), ...Object.keys(ORDINAL_UNITS), ...Object.keys(ORDINAL_TENS), ...Object.keys(ORDINAL_SCALES), ...Object.keys(MULTIPLES), ...Object.keys(FRACTIONS), ...Object.keys(MAGNITUDES), 'once'].join('|')})\\b|\\d(?:st|nd|rd|th)\\b`,
  'i',
);

export interface NumberWords {
  /** values of spelled-out numbers, multiples and fractions, as strings comparable with digits ("2", "1/2", "100") */
  numbers: string[];
  /** how many of `numbers` are a "1" from the word "one" or "once", which may be missing on the other side */
  optionalOnes: number;
  /** positions counted from the start: "second" → 2, "21st" → 21 (days of the month are in `numbers`) */
  ordinals: number[];
}

const NONE: NumberWords = { numbers: [], optionalOnes: 0, ordinals: [] };

const fmt = (n: number) => String(Math.round(n * 1e6) / 1e6);

/** The spelled-out numbers and the ordinals of a text (lower-cased). Digits are not counted here, except "21st". */
export function numberWordsIn(lower: string): NumberWords {
  if (!ANY.test(lower)) return NONE;
  const tokens = lower.match(/\d+(?:st|nd|rd|th)\b|\d[\d.,:/]*|[a-z]+|[^\s\w]|_/g) ?? [];
  const out: NumberWords = { numbers: [], optionalOnes: 0, ordinals: [] };
  const isMonth = (i: number) => i >= 0 && i < tokens.length && MONTHS.has(tokens[i]!);
  const isCount = (t: string | undefined) => t !== undefined && (/^\d/.test(t) || t in UNITS || t in TENS || t in SCALES);
  /** An ordinal at tokens[from..to]: a day of the month when a month name is next to it ("May 1st", "1st of May"). */
  const ordinal = (value: number, from: number, to: number) => {
    if (isMonth(from - 1) || isMonth(to + 1) || (tokens[to + 1] === 'of' && isMonth(to + 2))) out.numbers.push(fmt(value));
    else out.ordinals.push(value);
  };

  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i]!;
    const digitOrdinal = /^(\d+)(?:st|nd|rd|th)$/.exec(t);
    if (digitOrdinal) {
      ordinal(Number(digitOrdinal[1]), i, i);
      i++;
      continue;
    }
    if ((t in SCALES || t === 'dozen') && /^\d/.test(tokens[i - 1] ?? '')) {
      // "5 million": joinScales() gives the digit scan 5000000
      i++;
      continue;
    }
    if (t in MAGNITUDES) {
      out.numbers.push(MAGNITUDES[t]!);
      i++;
      continue;
    }
    if (t === 'once') {
      out.numbers.push('1');
      out.optionalOnes++;
      i++;
      continue;
    }
    if (t === 'second' && (FUNCTION_WORDS.has(tokens[i + 1] ?? 'of') || !/^[a-z]/.test(tokens[i + 1] ?? '.'))) {
      const before = tokens[i - 1];
      if (before === 'a' || before === 'per' || before === 'split' || before === 'each' || before === 'every' || isCount(before)) {
        i++;
        continue;
      }
    }
    if (t in ORDINAL_UNITS || t in ORDINAL_TENS || t in ORDINAL_SCALES) {
      ordinal(ORDINAL_UNITS[t] ?? ORDINAL_TENS[t] ?? ORDINAL_SCALES[t]!, i, i);
      i++;
      continue;
    }
    if (t in MULTIPLES && !(t === 'halves' && isCount(tokens[i - 1]))) {
      out.numbers.push(MULTIPLES[t]!);
      i++;
      continue;
    }
    if (!(t in UNITS || t in TENS || t in SCALES)) {
      i++;
      continue;
    }
    if (tokens[i - 1] === '-' && tokens[i - 2] === 'non') {
      // "non-zero", "non-one": a property, not a count
      i++;
      continue;
    }
    if (t in SCALES && VAGUE.has(tokens[i - 1]!)) {
      out.numbers.push(`${fmt(SCALES[t]!)}s`);
      i++;
      continue;
    }
    // A spelled-out cardinal: "twenty-one", "two hundred and fifty thousand", "a hundred".
    const start = i;
    let total = 0;
    let current = 0;
    /** the kind of the last word read: units, tens or a scale; a unit after a unit starts a new number */
    let last: 'unit' | 'tens' | 'scale' | undefined;
    let words = 0;
    let ordinalValue: number | undefined;
    while (i < tokens.length) {
      const w = tokens[i]!;
      if (w === '-' && words > 0 && /^[a-z]/.test(tokens[i + 1] ?? '')) {
        i++;
        continue;
      }
      if (w === 'and' && last === 'scale' && (tokens[i + 1]! in UNITS || tokens[i + 1]! in TENS)) {
        i++;
        continue;
      }
      if (w in UNITS) {
        if (last === 'unit' || (last === 'tens' && UNITS[w]! >= 10)) break;
        current += UNITS[w]!;
        last = 'unit';
      } else if (w in TENS) {
        if (last === 'unit' || last === 'tens') break;
        current += TENS[w]!;
        last = 'tens';
      } else if (w in SCALES) {
        const scale = SCALES[w]!;
        if (scale === 100) current = (current || 1) * 100;
        else {
          total += (current || 1) * scale;
          current = 0;
        }
        last = 'scale';
      } else if (w in ORDINAL_UNITS && last === 'tens') {
        // "twenty-first"
        ordinalValue = total + current + ORDINAL_UNITS[w]!;
        i++;
        words++;
        break;
      } else if (w in ORDINAL_SCALES && last !== undefined) {
        ordinalValue = (total + (current || 1)) * ORDINAL_SCALES[w]!;
        i++;
        words++;
        break;
      } else break;
      words++;
      i++;
    }
    let value = total + current;
    if (ordinalValue !== undefined) {
      ordinal(ordinalValue, start, i - 1);
      continue;
    }
    const next = tokens[i];
    if (next !== undefined && next in FRACTIONS) {
      // "two thirds", "three quarters"
      out.numbers.push(`${fmt(value)}/${FRACTIONS[next]}`);
      i++;
      continue;
    }
    if (next === 'dozen') {
      value *= 12;
      i++;
    } else if (next === 'and' && tokens[i + 1] === 'a' && tokens[i + 2] === 'half') {
      // "one and a half", "two and a half million"
      value += 0.5;
      i += 3;
      const scale = SCALES[tokens[i] ?? ''];
      if (scale !== undefined) {
        value *= scale;
        i++;
      }
    }
    out.numbers.push(fmt(value));
    if (value === 1 && words === 1 && tokens[start] === 'one') out.optionalOnes++;
  }
  return out;
}

/**
 * Digits written next to a scale word are one number: "5 million" is 5000000, as "five million" is. Returns the
 * text with such numbers written out in digits, for the digit scan.
 */
export function joinScales(text: string): string {
  return /\d\s+(?:hundred|thousand|million|billion|trillion|dozen)\b/i.test(text)
    ? text.replace(/(?<![\w.,])(\d+(?:\.\d+)?)\s+(hundred|thousand|million|billion|trillion|dozen)\b/gi, (_, n: string, s: string) =>
        fmt(Number(n) * (s.toLowerCase() === 'dozen' ? 12 : SCALES[s.toLowerCase()]!)),
      )
    : text;
}

/**
 * Two lists of numbers (digits and number words together) say the same, where a "1" that one side has in excess
 * may come from the word "one" (a pronoun or "a": "which one", "one week" ≈ "a week").
 */
export function sameNumbers(a: string[], aOptional: number, b: string[], bOptional: number): boolean {
  if (a.length === b.length && a.every((v, i) => v === b[i])) return true;
  const ones = (x: string[]) => x.filter((v) => v === '1').length;
  const rest = (x: string[]) => x.filter((v) => v !== '1');
  const ra = rest(a);
  const rb = rest(b);
  if (ra.length !== rb.length || !ra.every((v, i) => v === rb[i])) return false;
  const d = ones(a) - ones(b);
  return d > 0 ? d <= aOptional : -d <= bOptional;
}

/** Positions agree: the same set on both sides, where "first" on one side only is emphasis ("when did X first…"). */
export function sameOrdinals(a: number[], b: number[]): boolean {
  if (a.length === 0 && b.length === 0) return true;
  const x = new Set(a.filter((v) => v !== 1));
  const y = new Set(b.filter((v) => v !== 1));
  if (x.size !== y.size) return false;
  for (const v of x) if (!y.has(v)) return false;
  // "first" against a later position: "the first largest" is not said, "first" vs "second" is.
  if (a.includes(1) !== b.includes(1) && (x.size > 0 || y.size > 0)) return false;
  return true;
}
