/** A cache fault never fails a request: Reprise forwards upstream and says so. */
import { describe, expect, it } from 'vitest';
import type { Embedder } from '../../src/embed/types.js';
import { ask, chat, useHarness } from '../helpers/harness.js';

/** An embedder whose model has crashed: every call throws. */
const broken: Embedder = {
  id: 'broken@1',
  dim: 8,
  defaultThreshold: 0.9,
  embed: async () => {
    throw new Error('model crashed');
  },
};

const h = useHarness({}, { embedder: broken });

describe('fail open', () => {
  it('when the embedder throws, requests still succeed with X-Cache-Status: ERROR and a metric', async () => {
    const r = await chat(h.client(), ask('What is the capital of Kenya?'));
    expect(r.status).toBe(200);
    expect(r.data.choices[0]!.message.content).toMatch(/^Answer #\d+ to: What is the capital of Kenya\?$/);
    expect(r.headers.get('x-cache-status')).toBe('ERROR');
    expect(r.headers.get('x-cache-reason')).toBe('embed');
    const streamed = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'And of Chile?' }], stream: true });
    let text = '';
    for await (const chunk of streamed) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toMatch(/And of Chile\?$/);
    expect(h.reprise.metrics.snapshot().faults.embed).toBe(2);
    const prom = await (await fetch(`${h.reprise.url}/metrics`)).text();
    expect(prom).toContain('reprise_cache_faults_total{stage="embed"} 2');
    expect(prom).toContain('reprise_requests_total{status="ERROR"} 2');
  });

  it('exact-only requests still cache when the embedder is down', async () => {
    const c = h.client();
    const body = { messages: [{ role: 'user' as const, content: 'hi' }, { role: 'assistant' as const, content: 'hello' }] };
    await chat(c, body);
    const again = await chat(c, body);
    expect(again.headers.get('x-cache-status')).toBe('HIT');
  });
});
