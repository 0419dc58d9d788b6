/**
 * Reprise under a real Prometheus: promtool checks the alerting rules (deploy/prometheus/alerts.yml) and runs their
 * unit tests; a real Reprise serves known traffic (3 misses, 5 exact hits, 2 semantic hits), promtool lints its
 * GET /metrics, and a real Prometheus on a free port scrapes it every second, loads the rules and must count exactly
 * that traffic. Needs /usr/bin/prometheus and /usr/bin/promtool (Debian's prometheus; test/setup/prepare.mjs).
 *
 * The tests of the second block run in order: each needs the traffic the first one sent.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, chat, startHarness, type Harness } from '../helpers/harness.js';
import { pollUntil, promtool, startPrometheus, type PrometheusServer } from '../helpers/prometheus.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RULES = join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const RULE_TESTS = join(ROOT, 'deploy', 'prometheus', 'alerts.test.yml');
/** The rules alerts.yml defines, in order: RepriseFailOpenErrorsRising has two (the error share, the faults by stage). */
const ALERT_RULES = [
  'RepriseHitRateCollapsed',
  'RepriseFailOpenErrorsRising',
  'RepriseFailOpenErrorsRising',
  'RepriseWrongHitReportsRising',
  'RepriseEmbedderSaturated',
];
/** A busy two-core machine: scrapes and rule evaluations every second, but allow a minute for them to show. */
const SCRAPE_WAIT_MS = 60_000;

describe('alerting rules (promtool)', () => {
  it('promtool check rules accepts deploy/prometheus/alerts.yml, with every alert in it', async () => {
    const r = await promtool(['check', 'rules', RULES]);
    expect(r.code, r.report).toBe(0);
    expect(`${r.stdout}${r.stderr}`, r.report).toContain(`SUCCESS: ${ALERT_RULES.length} rules found`);
    // the linter's findings (duplicate rules and the like) print FAILED with exit code 0
    expect(`${r.stdout}${r.stderr}`, r.report).not.toMatch(/FAILED|lint/i);
  });

  it('promtool test rules passes deploy/prometheus/alerts.test.yml', async () => {
    const r = await promtool(['test', 'rules', RULE_TESTS], undefined, { cwd: dirname(RULE_TESTS) });
    expect(r.code, r.report).toBe(0);
    expect(r.stdout, r.report).toContain('SUCCESS');
  }, 120_000);
});

describe('a real Prometheus scraping a real Reprise', () => {
  let h: Harness;
  let prom: PrometheusServer | undefined;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await prom?.close();
    await h?.close();
  });

  it('known traffic: 3 misses, then 5 exact repeats, then 2 semantic paraphrases', async () => {
    const c = h.client();
    const status = async (text: string) => {
      const r = await chat(c, ask(text));
      return `${r.headers.get('x-cache-status')} ${r.headers.get('x-cache-match') ?? '-'}`;
    };
    const PASSWORD = 'How do I reset my password?';
    const BOILING = 'What is the boiling point of water at sea level?';
    const BREAD = 'How do I bake sourdough bread?';
    for (const q of [PASSWORD, BOILING, BREAD]) expect(await status(q), q).toBe('MISS -');
    for (const q of [PASSWORD, BOILING, BREAD, PASSWORD, BOILING]) expect(await status(q), q).toBe('HIT exact');
    for (const q of ['How can I reset my password?', 'At sea level, what is the boiling point of water?']) expect(await status(q), q).toBe('HIT semantic');
    expect(h.up.count('/chat/completions')).toBe(3);
    const { requests, hits } = h.reprise.metrics.snapshot();
    expect({ requests, hits }).toEqual({ requests: { HIT: 7, MISS: 3, BYPASS: 0, ERROR: 0 }, hits: { exact: 5, semantic: 2 } });
  });

  it('GET /metrics passes promtool check metrics: no error, no lint finding', async () => {
    const res = await fetch(`${h.reprise.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const r = await promtool(['check', 'metrics'], text);
    const findings = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
    // A finding about a reprise_ metric is ours to fix; any other finding or a parse error fails the exit code.
    expect(findings.filter((l) => /reprise_/.test(l)), r.report).toEqual([]);
    expect(r.code, r.report).toBe(0);
  });

  it('Prometheus scrapes it every second and sums 7 HIT and 3 MISS; it loads the alerting rules and evaluates them without error', async () => {
    const { host } = new URL(h.reprise.url);
    prom = await startPrometheus([host], { ruleFiles: [RULES] });
    const p = prom;
    const explain = async () => {
      const targets = await p.targets().catch((e: unknown) => String(e));
      return `targets: ${JSON.stringify(targets)}\nprometheus log (tail):\n${p.log().slice(-4_000)}`;
    };
    const total = async (status: string) => (await p.query(`sum(reprise_requests_total{status="${status}"})`))[0]?.value;

    const seen = await pollUntil(
      'Prometheus sees 7 HIT and 3 MISS',
      async () => ({ HIT: await total('HIT'), MISS: await total('MISS') }),
      (v) => v.HIT === 7 && v.MISS === 3,
      { timeoutMs: SCRAPE_WAIT_MS, explain },
    );
    expect(seen).toEqual({ HIT: 7, MISS: 3 });

    // The scrapes go cleanly (polled: on a busy machine one scrape may miss its 1 s timeout), and no other status was counted.
    const scrapeUrl = `${h.reprise.url}/metrics`;
    const targets = await pollUntil(
      'the Reprise target is up',
      () => p.targets(),
      (ts) => ts.length === 1 && ts[0]!.health === 'up',
      { timeoutMs: SCRAPE_WAIT_MS, explain },
    );
    expect(targets).toEqual([{ health: 'up', lastError: '', scrapeUrl }]);
    expect(await p.query('sum by (status, match) (reprise_requests_total)')).toEqual(
      expect.arrayContaining([
        { metric: { status: 'HIT', match: 'exact' }, value: 5 },
        { metric: { status: 'HIT', match: 'semantic' }, value: 2 },
      ]),
    );
    expect((await total('BYPASS')) ?? 0).toBe(0);
    expect((await total('ERROR')) ?? 0).toBe(0);

    // The rules run against the real series (their label sets, their absent ones): each must evaluate, health ok.
    const rules = await pollUntil(
      'Prometheus evaluates every alerting rule',
      () => p.rules(),
      (rs) => rs.length === ALERT_RULES.length && rs.every((r) => r.health !== 'unknown' && !r.lastEvaluation.startsWith('0001-')),
      { timeoutMs: SCRAPE_WAIT_MS, explain },
    );
    expect(rules.map((r) => ({ name: r.name, type: r.type, health: r.health, lastError: r.lastError ?? '' }))).toEqual(
      ALERT_RULES.map((name) => ({ name, type: 'alerting', health: 'ok', lastError: '' })),
    );
  }, 2 * SCRAPE_WAIT_MS + 30_000);
});
