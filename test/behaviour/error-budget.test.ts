/**
 * --max-error-rate through the real HTTP path: a stream of questions, some of which look like a cached one but mean
 * something else; the client reports some of the wrong hits it gets. The served error rate must stay under budget.
 *
 * The embedder here is synthetic so the test controls how close each question is to each topic; everything else
 * (server, store, verification, budget, labelling by the upstream's answers, feedback) is the real thing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, ask, startHarness, type Harness } from '../helpers/harness.js';
import { at, DIM, SyntheticEmbedder, word } from '../helpers/synthetic-embedder.js';
import { randomUnit, rng } from '../helpers/vectors.js';

interface World {
  embedder: SyntheticEmbedder;
  answers: Map<string, string>;
  seed: string[];
  stream: string[];
}

/**
 * Topics with a hidden per-topic threshold: a question at that cosine or closer to the topic means the topic; a
 * farther one is a different question with its own answer.
 */
function world(seed: number, topics = 25, queries = 700): World {
  const r = rng(seed);
  const embedder = new SyntheticEmbedder();
  const answers = new Map<string, string>();
  const anchors = Array.from({ length: topics }, () => randomUnit(DIM, r));
  const hidden = anchors.map(() => 0.82 + r() * 0.15);
  const seedTexts = anchors.map((a, t) => {
    const text = `tell me about ${word(t)}`;
    embedder.known.set(text, a);
    answers.set(text, `facts on ${word(t)}`);
    return text;
  });
  const stream: string[] = [];
  for (let i = 0; i < queries; i++) {
    const t = Math.floor(r() ** 1.5 * topics);
    const s = 0.8 + r() * 0.2;
    const text = `question ${word(i)} on ${word(t)}`;
    embedder.known.set(text, at(anchors[t]!, s, r));
    answers.set(text, s >= hidden[t]! ? `facts on ${word(t)}` : `other facts ${word(i)}`);
    stream.push(text);
  }
  return { embedder, answers, seed: seedTexts, stream };
}

async function run(h: Harness, w: World) {
  h.up.defaults.answerFor = (text) => w.answers.get(text);
  const client = h.client();
  for (const text of w.seed) await chat(client, ask(text));
  const r = rng(99);
  const out = { served: 0, wrong: 0, explored: 0 };
  let feedback: string | undefined;
  for (const text of w.stream) {
    const { data, headers } = await chat(client, ask(text), feedback ? { 'x-cache-feedback': `wrong=${feedback}` } : undefined);
    feedback = undefined;
    if (headers.get('x-cache-reason') === 'budget-explore') out.explored++;
    if (headers.get('x-cache-status') !== 'HIT') continue;
    out.served++;
    if (data.choices[0]!.message.content !== w.answers.get(text)) {
      out.wrong++;
      // Half of the wrong hits get reported, on the next request.
      if (r() < 0.5) feedback = headers.get('x-cache-id')!;
    }
  }
  return out;
}

describe('error budget through HTTP', () => {
  let budgeted: Harness;
  let baseline: Harness;
  const budgetWorld = world(11);
  const baselineWorld = world(11);
  beforeAll(async () => {
    budgeted = await startHarness({ threshold: '0.8', 'max-error-rate': '0.05' }, { embedder: budgetWorld.embedder });
    baseline = await startHarness({ threshold: '0.8' }, { embedder: baselineWorld.embedder });
  });
  afterAll(async () => {
    await budgeted?.close();
    await baseline?.close();
  });

  it('keeps the served error rate under --max-error-rate where a static threshold does not', async () => {
    const without = await run(baseline, baselineWorld);
    const withBudget = await run(budgeted, budgetWorld);
    // Same stream: the static threshold serves many wrong answers...
    expect(without.wrong / without.served).toBeGreaterThan(0.15);
    // ...the budget keeps them under 5% while still serving a real share of the stream.
    expect(withBudget.wrong / withBudget.served).toBeLessThanOrEqual(0.05);
    expect(withBudget.served).toBeGreaterThan(budgetWorld.stream.length * 0.1);
    expect(withBudget.explored).toBeGreaterThan(0);

    // The decisions and labels are visible to operators.
    const stats = budgeted.reprise.metrics.snapshot().budget;
    expect(stats.decisions.serve).toBe(withBudget.served);
    expect(stats.labels.right + stats.labels.wrong).toBeGreaterThan(50);
    const text = await (await fetch(`${budgeted.reprise.url}/metrics`)).text();
    expect(text).toMatch(/reprise_budget_decisions_total\{decision="uncertain"\} [1-9]/);
    expect(text).toMatch(/reprise_budget_labels_total\{result="wrong"\} [1-9]/);
  }, 120_000);
});
