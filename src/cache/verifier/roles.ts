/**
 * @module cache/verifier/roles: whether two texts use the same words with the fillers of a relation's slots swapped
 * ("convert Celsius to Fahrenheit" vs "convert Fahrenheit to Celsius", "Did Spain beat Italy" vs "Did Italy beat
 * Spain"). See the module comment of cache/verifier/guards for the rule.
 */

/** Function words: a stretch made only of these fills no slot. */
const STOP = new Set(
  'a an the is are was were be been being am do does did done of to in on at for from by with about as and or but if then than so that this these those it its i me my mine you your we our they their them he him she his her what which who whom whose when where why how can could should would will shall may might must have has had not no there here into onto over under more most some any all each other such only own same very just also too please s t'.split(' '),
);
/** Auxiliaries and negators: a stretch of only these between the fillers is a copula or a change of voice ("The
 * capital of France is Paris" ≈ "Paris is the capital of France", "X is used by Y" ≈ "Y uses X"), not a relation. */
const AUX = new Set('is are was were be been being am can could should would will shall may might must do does did has have had not no never'.split(' '));
/** Connectors that read the same both ways: "X and Y", "X or Y", "X vs Y", "X compared to Y", "X, Y", "X/Y". */
const SYMMETRIC = /^(?:and|or|nor|vs|versus|v|&|\/|,|and \/ or|compared (?:to|with)|or rather|,? and|,? or)$/;

/** The tokens of a text as the role check reads them: lower-case words, digits and punctuation, articles left out. */
export function roleTokens(lower: string): string[] {
  return (lower.replace(/’/g, "'").match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}'"`“”?!.]/gu) ?? []).filter((t) => t !== 'a' && t !== 'an' && t !== 'the');
}

/** Each token that occurs exactly once in a text, with its position. */
export function onceIndex(tokens: string[]): Map<string, number> {
  const seen = new Map<string, number>();
  tokens.forEach((t, i) => seen.set(t, seen.has(t) ? -1 : i));
  return seen;
}

/**
 * A swap of two slot fillers: over the tokens both texts use exactly once, three stretches X, M, Y that follow one
 * another in `a` come as Y, M, X, one after another, in `b`, each time as one phrase with no other word inside; X
 * and Y hold a content word, and M is more than a symmetric connector or an auxiliary. Returns the swapped
 * stretches, or undefined.
 */
export function swappedRoles(a: string[], onceA: Map<string, number>, onceB: Map<string, number>): [string, string, string] | undefined {
  // The shared tokens in a's order, each with its position in b.
  const shared: Array<{ t: string; pa: number; pb: number }> = [];
  // Most candidates keep the query's word order: without a single inversion there is nothing to look for.
  let inverted = false;
  for (let i = 0; i < a.length; i++) {
    const t = a[i]!;
    if (onceA.get(t) !== i) continue;
    const pb = onceB.get(t);
    if (pb === undefined || pb < 0) continue;
    if (shared.length > 0 && pb < shared[shared.length - 1]!.pb) inverted = true;
    shared.push({ t, pa: i, pb });
  }
  if (!inverted || shared.length < 3) return undefined;
  // Rank in b's order, then cut a's order into runs that are also consecutive in b.
  const byB = shared.map((s, i) => [s.pb, i] as const).sort((x, y) => x[0] - y[0]);
  const rank = new Array<number>(shared.length);
  byB.forEach(([, i], r) => (rank[i] = r));
  const runs: Array<{ from: number; to: number; lo: number; hi: number }> = [];
  for (let i = 0; i < shared.length; i++) {
    const last = runs[runs.length - 1];
    if (last && rank[i] === last.hi + 1) {
      last.to = i;
      last.hi = rank[i]!;
    } else runs.push({ from: i, to: i, lo: rank[i]!, hi: rank[i]! });
  }
  const words = (r: { from: number; to: number }) => shared.slice(r.from, r.to + 1).map((s) => s.t);
  const content = (ws: string[]) => ws.some((w) => /[\p{L}\p{N}]/u.test(w) && !STOP.has(w));
  for (let j = 0; j + 2 < runs.length; j++) {
    const [x, m, y] = [runs[j]!, runs[j + 1]!, runs[j + 2]!];
    if (y.hi + 1 !== m.lo || m.hi + 1 !== x.lo) continue;
    // One phrase in each text, nothing else between its words: "X M Y" in a, "Y M X" in b.
    const n = x.to - x.from + 1 + (m.to - m.from + 1) + (y.to - y.from + 1);
    if (shared[y.to]!.pa - shared[x.from]!.pa + 1 !== n) continue;
    if (shared[x.to]!.pb - shared[y.from]!.pb + 1 !== n) continue;
    const wx = words(x);
    const wy = words(y);
    const wm = words(m);
    if (!content(wx) || !content(wy) || SYMMETRIC.test(wm.join(' ')) || wm.every((w) => AUX.has(w))) continue;
    return [wx.join(' '), wm.join(' '), wy.join(' ')];
  }
  return undefined;
}
