/**
 * bench/quality/budget: the error budget (`--max-error-rate`) on real data. The qqp test split is replayed as a
 * stream through the matching path (every `a` in one shared cache, each `b` asked once, in a seeded random order):
 * guards at the floor threshold pick a candidate, the budget decides, and what it explores is labelled. Half of the
 * wrong hits served are reported as client feedback.
 *
 *   npx tsx bench/quality/budget.ts
 *
 * Assumption, stated in the output: an explored pair is labelled with the data set's ground truth, i.e. the
 * answer comparison (cache/answer-agreement) is taken to be right. Each question is asked once, so the per-entry
 * evidence rarely helps here; this measures the pooled part of the budget on hard, real negatives.
 */
import { ErrorBudget } from '../../src/cache/error-budget.js';
import { verify } from '../../src/cache/verify.js';
import { normaliseText } from '../../src/cache/key.js';
import { USE_LITE_THRESHOLD } from '../../src/embed/use-lite.js';
import { table, writeResult, writeSummary } from '../lib/stats.js';
import { loadData, replay, type Query } from './matching-path.js';
import { rng } from '../../test/helpers/vectors.js';
import type { Candidate } from '../../src/store/types.js';

const isRight = (q: Query, c: Candidate) =>
  (q.pair.label === 1 && c.entry.text === q.pair.a) || normaliseText(c.entry.text) === normaliseText(q.pair.b);

interface Row {
  floor: number;
  budget: number | string;
  precision: number;
  recall: number;
  'hit ratio': number;
  'P 2nd half': number;
  'R 2nd half': number;
  explored: number;
  'measured error': number | string;
}

function stream(queries: Query[], floor: number, maxErrorRate: number | undefined, seed = 1): Row {
  const r = rng(seed);
  const order = queries.map((q) => ({ q, k: r() })).sort((x, y) => x.k - y.k).map((x) => x.q);
  const budget = maxErrorRate === undefined ? undefined : new ErrorBudget({ maxErrorRate, random: rng(seed + 7) });
  const half = Math.floor(order.length / 2);
  const tally = [0, 1].map(() => ({ served: 0, right: 0, positives: 0 }));
  let explored = 0;
  order.forEach((q, i) => {
    const t = tally[i < half ? 0 : 1]!;
    if (q.pair.label === 1) t.positives++;
    let c: Candidate | undefined;
    if (q.exact) c = q.candidates[0];
    else {
      const v = verify(q.pair.b, q.candidates, { threshold: floor });
      if (v.ok) c = v.candidate;
      if (c && budget) {
        const d = budget.decide(c.entry.id, c.score);
        if (!d.serve) {
          explored++;
          budget.learn(c.entry.id, c.score, isRight(q, c), d.reason === 'sampled');
          c = undefined;
        } else budget.served(c.entry.id, c.score);
      }
    }
    if (!c) return;
    t.served++;
    if (isRight(q, c)) t.right++;
    else if (budget && r() < 0.5) budget.reportWrong(c.entry.id);
  });
  const all = { served: tally[0]!.served + tally[1]!.served, right: tally[0]!.right + tally[1]!.right, positives: tally[0]!.positives + tally[1]!.positives };
  const p = (x: { served: number; right: number }) => (x.served ? x.right / x.served : 1);
  const rec = (x: { right: number; positives: number }) => (x.positives ? x.right / x.positives : 0);
  const measured = budget?.stats().measuredErrorRate;
  return {
    floor,
    budget: maxErrorRate ?? 'off',
    precision: p(all),
    recall: rec(all),
    'hit ratio': all.served / order.length,
    'P 2nd half': p(tally[1]!),
    'R 2nd half': rec(tally[1]!),
    explored,
    'measured error': measured === undefined ? '-' : measured,
  };
}

const data = await loadData();
const sets = { 'qqp test': await replay(data.test, data.table), 'paraphrase-easy': await replay(data.easy, data.table) };
const results: Record<string, Row[]> = {};
for (const [name, queries] of Object.entries(sets)) {
  results[name] = [];
  for (const floor of [0.85, USE_LITE_THRESHOLD]) {
    for (const b of [undefined, 0.2, 0.1, 0.05, 0.02]) results[name]!.push(stream(queries, floor, b));
  }
}
const md = [
  '## bench/quality/budget: the error budget on a stream of real questions',
  '',
  'Each question asked once, in a seeded random order; every `a` stored first in one shared cache; guards at the',
  'floor threshold choose a candidate; half of the wrong hits served are reported. Explored pairs are labelled with',
  "the data set's ground truth (assumes the answer comparison is right). Exact-text hits are always served.",
  '',
  ...Object.entries(results).flatMap(([name, rows]) => [`### ${name}`, table(rows as unknown as Array<Record<string, string | number>>), '']),
].join('\n');
writeResult('quality-budget', { results });
writeSummary('quality-budget', md);
console.log(md);
