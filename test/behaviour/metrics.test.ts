/**
 * After known traffic, /metrics and /stats say exactly what happened: requests by endpoint, model, status and match;
 * one write per stored miss, apart from hits; tokens and dollars saved from the served answers' usage; latency
 * observed for every request, the upstream's apart; the best candidate's similarity on semantic lookups.
 */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness();

/** The value of one series in Prometheus text, by its exact label set; undefined when absent. */
function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const line = text.split('\n').find((l) => l.startsWith(want ? `${name}{${want}} ` : `${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function scrape(): Promise<string> {
  return (await fetch(`${h.reprise.url}/metrics`)).text();
}

describe('metrics after known traffic', () => {
  it('3 misses, 5 exact hits and 2 semantic hits are counted exactly, with what the hits saved', async () => {
    const c = h.client('sk-metrics');
    const before = await scrape();
    const questions = ['How do I reset my password?', 'What is the boiling point of water?', 'How many legs does a spider have?'];
    for (const q of questions) expect((await chat(c, ask(q))).headers.get('x-cache-status')).toBe('MISS');
    const served: Array<{ prompt: number; completion: number }> = [];
    for (const q of [...questions, questions[0]!, questions[1]!]) {
      const r = await chat(c, ask(q));
      expect([r.headers.get('x-cache-status'), r.headers.get('x-cache-match')]).toEqual(['HIT', 'exact']);
      served.push({ prompt: r.data.usage!.prompt_tokens, completion: r.data.usage!.completion_tokens });
    }
    for (const q of ['How can I reset my password?', '  How many   legs does a spider have?']) {
      const r = await chat(c, ask(q));
      expect([r.headers.get('x-cache-status'), r.headers.get('x-cache-match')]).toEqual(['HIT', 'semantic']);
      served.push({ prompt: r.data.usage!.prompt_tokens, completion: r.data.usage!.completion_tokens });
    }
    expect(h.up.count('/chat/completions')).toBe(3);

    const text = await scrape();
    const at = { endpoint: 'chat', model: 'gpt-4o-mini' };
    // The harness keeps one Reprise for the file: counts are read as increases over the first scrape.
    const delta = (name: string, labels: Record<string, string>) => (series(text, name, labels) ?? 0) - (series(before, name, labels) ?? 0);
    expect(delta('reprise_requests_total', { ...at, status: 'MISS', match: 'none' })).toBe(3);
    expect(delta('reprise_requests_total', { ...at, status: 'HIT', match: 'exact' })).toBe(5);
    expect(delta('reprise_requests_total', { ...at, status: 'HIT', match: 'semantic' })).toBe(2);
    expect(delta('reprise_writes_total', at)).toBe(3);

    const input = served.reduce((s, u) => s + u.prompt, 0);
    const output = served.reduce((s, u) => s + u.completion, 0);
    expect(delta('reprise_tokens_saved_total', { ...at, kind: 'input' })).toBe(input);
    expect(delta('reprise_tokens_saved_total', { ...at, kind: 'output' })).toBe(output);
    // gpt-4o-mini lists at $0.15 per million input tokens and $0.60 per million output tokens.
    expect(delta('reprise_money_saved_usd_total', at)).toBeCloseTo((input * 0.15 + output * 0.6) / 1e6, 12);

    expect(delta('reprise_request_duration_seconds_count', { endpoint: 'chat', outcome: 'hit' })).toBe(7);
    expect(delta('reprise_request_duration_seconds_count', { endpoint: 'chat', outcome: 'miss' })).toBe(3);
    expect(delta('reprise_upstream_duration_seconds_count', { endpoint: 'chat' })).toBe(3);
    expect(delta('reprise_overhead_seconds_count', { endpoint: 'chat', outcome: 'miss' })).toBe(3);
    // Every semantic lookup that found a candidate: the two served, and none refused here.
    expect(delta('reprise_similarity_count', { decision: 'served' })).toBe(2);
    expect(delta('reprise_embed_duration_seconds_count', {})).toBeGreaterThanOrEqual(5);

    const stats = (await (await fetch(`${h.reprise.url}/stats`)).json()) as { writes: number; tokens: { input: number; output: number }; requests: Record<string, number> };
    expect(stats.requests.HIT).toBeGreaterThanOrEqual(7);
    expect(stats.tokens.input).toBeGreaterThanOrEqual(input);
    expect(stats.tokens.output).toBeGreaterThanOrEqual(output);
  });

  it('a refused candidate is counted with its reason and its similarity', async () => {
    const c = h.client('sk-metrics-refused');
    const before = await scrape();
    await chat(c, ask('What is new in Python 3.11?'));
    const r = await chat(c, ask('What is new in Python 3.12?'));
    expect(r.headers.get('x-cache-status')).toBe('MISS');
    const text = await scrape();
    const delta = (name: string, labels: Record<string, string>) => (series(text, name, labels) ?? 0) - (series(before, name, labels) ?? 0);
    expect(delta('reprise_refusals_total', { reason: 'guard-numbers' })).toBe(1);
    expect(delta('reprise_similarity_count', { decision: 'refused' })).toBe(1);
  });

  it.each([
    ['numbers', 'Can you book us a table for two people on Friday?', 'Can you book us a table for four people on Friday?'],
    ['ordinal', 'What is the second tallest mountain in Africa?', 'What is the third tallest mountain in Africa?'],
    ['ordinal', 'What happens on the first day of autumn?', 'What happens on the last day of autumn?'],
    ['roles', 'How do I convert Celsius to Kelvin?', 'How do I convert Kelvin to Celsius?'],
    ['roles', 'Did the Lakers beat the Celtics in 2008?', 'Did the Celtics beat the Lakers in 2008?'],
  ])('a candidate above the threshold that only guard-%s tells apart is refused and counted so', async (guard, stored, query) => {
    const c = h.client(`sk-metrics-${guard}`);
    await chat(c, ask(stored));
    const before = await scrape();
    const r = await chat(c, ask(query));
    expect(r.headers.get('x-cache-status')).toBe('MISS');
    const text = await scrape();
    const delta = (name: string, labels: Record<string, string>) => (series(text, name, labels) ?? 0) - (series(before, name, labels) ?? 0);
    // guard-<name> is counted only for a candidate that cleared the cosine threshold: the model found them alike.
    expect(delta('reprise_refusals_total', { reason: `guard-${guard}` })).toBe(1);
    expect(delta('reprise_refusals_total', { reason: 'below-threshold' })).toBe(0);
  });

  it('the model label is capped: clients cannot grow the series without bound', async () => {
    const c = h.client('sk-metrics-models');
    for (let i = 0; i < 70; i++) await chat(c, { model: `model-${i}`, ...ask('Hi') }).catch(() => undefined);
    const text = await scrape();
    const models = new Set([...text.matchAll(/^reprise_requests_total\{endpoint="chat",model="([^"]*)"/gm)].map((m) => m[1]));
    expect(models.size).toBeLessThanOrEqual(65);
    expect(models.has('other')).toBe(true);
  });
});
