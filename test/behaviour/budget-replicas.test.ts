/**
 * Two replicas on one redis-server with --max-error-rate: the error budget's labels gathered on replica A (explored
 * answers, wrong-hit reports by POST /v1/cache/feedback and by X-Cache-Feedback) change what replica B serves for
 * other entries at those similarities, as they would had they been gathered on B. B is never asked anything that
 * would label on B before its checks (it serves only the probes), so all it knows at similarity S comes from A
 * through Redis: without the sharing, B would explore its first probe (no evidence: uncertain) and the test fails
 * there. Then, with Redis killed, requests still succeed and A's budget keeps learning locally.
 *
 * Both replicas sample nothing (--verify-sample-rate 0): sampling is random, and every decision here must follow
 * from the labels alone, so the run is the same on any machine under any load. Sampled labels travel the same
 * channel as explored ones (test/cache/budget-share.test.ts covers their flag).
 *
 * The embedder is synthetic so the test sets each question's similarity to its entry; everything else is real.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/observe/logger.js';
import type { Running } from '../../src/node/server.js';
import type { Store } from '../../src/store/types.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { redisReplicaConfig, startFront } from '../helpers/front.js';
import { ask, chat } from '../helpers/harness.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { at, DIM, SyntheticEmbedder, word } from '../helpers/synthetic-embedder.js';
import { randomUnit, rng } from '../helpers/vectors.js';

const ADMIN = 'admin-secret-for-budget-replicas';
/** The similarity every question has to its entry: mid-bin (the budget pools by 0.005), clear of the threshold. */
const S = 0.9025;
/** How long labels may take to reach the other replica (they arrive in ~0.1 s; the margin is for a busy machine). */
const PROPAGATION_MS = 10_000;

let up: FakeUpstream;
let redis: RedisServer;
let a: Running;
let b: Running;
const embedder = new SyntheticEmbedder();
const answers = new Map<string, string>();
const r = rng(16);
let pairs = 0;

/** A fresh entry text and a question at S to it; `same`: the question's right answer is the entry's. */
function pair(same: boolean): { entry: string; question: string } {
  const n = pairs++;
  const anchor = randomUnit(DIM, r);
  const entry = `tell me about ${word(n)}`;
  const question = `question ${word(n)} on ${word(n + 7)}`;
  embedder.known.set(entry, anchor);
  embedder.known.set(question, at(anchor, S, r));
  answers.set(entry, `facts on ${word(n)}`);
  answers.set(question, same ? `facts on ${word(n)}` : `other facts ${word(n)}`);
  return { entry, question };
}

const client = (x: Running) => new OpenAI({ apiKey: 'sk-budget-replicas', baseURL: `${x.url}/v1`, maxRetries: 0, timeout: 10_000 });

/** One counter of /metrics, summed over the series whose labels include `labels`. */
async function metric(x: Running, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${x.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The budget's state as this replica's metrics hold it (in-process: /stats adds up the replicas). */
function budgetState(x: Running): { strictness: number; measuredErrorRate: number | null } {
  return x.metrics.snapshot().budget;
}

/**
 * Everything each replica learned has gone out and the other has absorbed it: every label (explored answers and
 * reports), and the count of hits served, against which the other weighs reports.
 */
async function caughtUp(): Promise<void> {
  const shared = async (x: Running) => ({
    learned: (await metric(x, 'reprise_budget_labels_total')) + (await metric(x, 'reprise_feedback_wrong_total')),
    served: await metric(x, 'reprise_budget_decisions_total', 'decision="serve"'),
    sent: await metric(x, 'reprise_budget_shared_labels_total', 'event="sent"'),
    sentServed: await metric(x, 'reprise_budget_shared_served_total', 'event="sent"'),
    received: await metric(x, 'reprise_budget_shared_labels_total', 'event="received"'),
    receivedServed: await metric(x, 'reprise_budget_shared_served_total', 'event="received"'),
  });
  await vi.waitFor(
    async () => {
      const [sa, sb] = await Promise.all([shared(a), shared(b)]);
      expect(sa.learned).toBeGreaterThan(0);
      for (const [from, to] of [[sa, sb], [sb, sa]] as const) {
        expect(from.sent).toBe(from.learned);
        expect(from.sentServed).toBe(from.served);
        expect(to.received).toBe(from.sent);
        expect(to.receivedServed).toBe(from.sentServed);
      }
    },
    { interval: 20, timeout: PROPAGATION_MS },
  );
}

/** Questions A explored: each is labelled once its answer is in, after the response. */
let aExplored = 0;

/**
 * Store `entry` through `x` (a miss), then ask `question`; returns its X-Cache-Status, reason and id. On A, first
 * wait for the labels of the questions explored before: each decision is then made on all the evidence so far.
 */
async function probe(x: Running, p: { entry: string; question: string }, headers?: Record<string, string>) {
  if (x === a) await vi.waitFor(async () => expect(await metric(a, 'reprise_budget_labels_total')).toBe(aExplored), { interval: 5, timeout: PROPAGATION_MS });
  await chat(client(x), ask(p.entry));
  const res = await chat(client(x), ask(p.question), headers);
  expect(res.status).toBe(200);
  if (x === a && res.headers.get('x-cache-reason') === 'budget-explore') aExplored++;
  return { status: res.headers.get('x-cache-status'), reason: res.headers.get('x-cache-reason'), id: res.headers.get('x-cache-id'), content: res.data.choices[0]!.message.content };
}

beforeAll(async () => {
  [up, redis] = await Promise.all([startFakeUpstream(), startRedis()]);
  up.defaults.answerFor = (text) => answers.get(text);
  const start = async (flags: Record<string, string>) => {
    const config = redisReplicaConfig(
      { upstream: up.url, redisUrl: redis.url, prefix: `budget${process.pid}`, redisTimeoutMs: 100, adminToken: ADMIN },
      { threshold: '0.8', 'max-error-rate': '0.2', ...flags },
    );
    const running = await startFront(config, { embedder, logger: silentLogger });
    await running.ready;
    return running;
  };
  [a, b] = await Promise.all([start({ 'verify-sample-rate': '0' }), start({ 'verify-sample-rate': '0' })]);
  for (const x of [a, b]) {
    await vi.waitFor(async () => expect(((await (await fetch(`${x.url}/healthz`)).json()) as { store: string }).store).toBe('ready'), { interval: 20, timeout: 10_000 });
    await (x.store as Store & { synced?: () => Promise<void> }).synced?.();
  }
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
  await up?.close();
});

describe('the error budget shared by replicas on one Redis', () => {
  it("labels gathered on A change what B serves for other entries at the same similarity, as if gathered on B", async () => {
    // Right labels at S on A: A explores until its pooled evidence at S says serving is within budget, then serves
    // (or samples) the rest.
    let aServed = 0;
    for (let i = 0; i < 40; i++) if ((await probe(a, pair(true))).status === 'HIT') aServed++;
    expect(aServed).toBeGreaterThan(0);
    await caughtUp();

    // B has labelled nothing itself, yet serves a fresh entry at S: A's evidence. Without the sharing it explores.
    const before = await probe(b, pair(true));
    expect(before.status, 'B serves at S on the evidence A gathered').toBe('HIT');
    // Its served hit reaches A before A learns more, so both weigh the reports to come against the same hits.
    await caughtUp();
    // A report of B's hit made to A is placed on A at the similarity B served it at: B shared which hit it served.
    const placed = await metric(a, 'reprise_budget_reports_total', 'result="placed"');
    const report = await fetch(`${a.url}/v1/cache/feedback`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-budget-replicas', 'content-type': 'application/json' },
      body: JSON.stringify({ id: before.id, verdict: 'wrong' }),
    });
    expect(report.status).toBe(200);
    expect(await metric(a, 'reprise_budget_reports_total', 'result="placed"')).toBe(placed + 1);
    expect(await metric(a, 'reprise_budget_reports_total', 'result="unplaced"')).toBe(0);
    await caughtUp();

    // Wrong answers at S on A, reported when A served them (by both feedback routes) or labelled when A explored
    // them: until A itself no longer serves a fresh entry at S.
    let reportedPost = 0;
    let reportedHeader = 0;
    let pendingReport: string | undefined;
    let recovering = false;
    let aRefuses = false;
    for (let i = 0; i < 600 && !aRefuses; i++) {
      const enough = reportedPost > 0 && reportedHeader > 0 && !pendingReport;
      // Once A refuses before it has both kinds of reports, right answers at S bring it back to serving.
      const p = pair(recovering);
      const uncertainBefore = await metric(a, 'reprise_budget_decisions_total', 'decision="uncertain"');
      const got = await probe(a, p, pendingReport ? { 'x-cache-feedback': `wrong=${pendingReport}` } : undefined);
      if (pendingReport) reportedHeader++;
      pendingReport = undefined;
      const uncertain = (await metric(a, 'reprise_budget_decisions_total', 'decision="uncertain"')) > uncertainBefore;
      if (recovering) {
        if (got.status === 'HIT') recovering = false;
        continue;
      }
      if (got.status === 'HIT') {
        expect(got.content).not.toBe(answers.get(p.question));
        if (reportedPost <= reportedHeader) {
          const res = await fetch(`${a.url}/v1/cache/feedback`, {
            method: 'POST',
            headers: { authorization: 'Bearer sk-budget-replicas', 'content-type': 'application/json' },
            body: JSON.stringify({ id: got.id, verdict: 'wrong' }),
          });
          expect(res.status).toBe(200);
          reportedPost++;
        } else pendingReport = got.id!;
      } else if (uncertain) {
        if (enough) aRefuses = true;
        else recovering = true;
      }
    }
    expect(aRefuses, 'A refuses a fresh entry at S after the wrong labels').toBe(true);
    await vi.waitFor(async () => expect(await metric(a, 'reprise_budget_labels_total')).toBe(aExplored), { interval: 5, timeout: PROPAGATION_MS });
    expect(reportedPost).toBeGreaterThan(0);
    expect(reportedHeader).toBeGreaterThan(0);
    expect(await metric(a, 'reprise_feedback_wrong_total')).toBe(reportedPost + reportedHeader + 1);
    expect(await metric(a, 'reprise_budget_reports_total', 'result="placed"')).toBe(reportedPost + reportedHeader + 1);
    expect(await metric(a, 'reprise_budget_labels_total', 'result="wrong"')).toBeGreaterThan(0);
    await caughtUp();

    // B, which served at S before and has still labelled nothing, now explores a fresh entry at S, as A does, for
    // the same reason; its strictness is A's.
    const uncertainBefore = await metric(b, 'reprise_budget_decisions_total', 'decision="uncertain"');
    const after = await probe(b, pair(true));
    expect(after.status, `B no longer serves at S, on A's wrong labels (A ${JSON.stringify(budgetState(a))}, B ${JSON.stringify(budgetState(b))})`).toBe('MISS');
    expect(after.reason).toBe('budget-explore');
    expect(await metric(b, 'reprise_budget_decisions_total', 'decision="uncertain"')).toBe(uncertainBefore + 1);
    const [sa, sb] = [budgetState(a), budgetState(b)];
    expect(sb.strictness).toBe(sa.strictness);
    // A few hundred requests, each decided on all the evidence before it: ~5 s, several times that on a busy machine.
  }, 120_000);

  it('with Redis killed, requests still succeed and the budget keeps learning locally', async () => {
    const labelsBefore = await metric(a, 'reprise_budget_labels_total');
    // An explored request whose upstream call is under way when Redis dies: its label is learned after.
    const p = pair(true);
    await chat(client(a), ask(p.entry));
    await caughtUp();
    up.next({ delayMs: 400 });
    const calls = up.calls.length;
    const explored = chat(client(a), ask(p.question));
    await vi.waitFor(() => expect(up.calls.length).toBeGreaterThan(calls), { interval: 5, timeout: 5_000 });
    await redis.kill();
    const res = await explored;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache-reason')).toBe('budget-explore');
    await vi.waitFor(
      async () => {
        expect(await metric(a, 'reprise_budget_labels_total')).toBe(labelsBefore + 1);
        expect(await metric(a, 'reprise_budget_shared_labels_total', 'event="failed"')).toBeGreaterThan(0);
      },
      { interval: 20, timeout: PROPAGATION_MS },
    );
    // Redis down: every request still answered, at once, by the upstream.
    for (const x of [a, b]) {
      const t0 = performance.now();
      const q = await chat(client(x), ask(pair(true).question));
      expect(q.status).toBe(200);
      expect(q.headers.get('x-cache-status')).toBe('ERROR');
      expect(performance.now() - t0).toBeLessThan(2_000);
    }
  });
});
