/**
 * The dashboard in a real headless Chromium (playwright-core driving Debian's /usr/bin/chromium), against a real
 * Reprise with an admin token, the bundled embedder and the real `openai` SDK: after known traffic, a person signs in
 * with the token in the form and sees the hit rate the traffic makes, the charts drawn and the tables filled, under
 * the page's CSP with not one console error; steady traffic with no hits raises the warning banner.
 *
 * It runs once, on the Node front (the unit project): the page and its routes are the core's, the same on both fronts.
 * The tests run in order and build on each other's traffic. Screenshots go to test/artifacts/ (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatsJson } from '../../src/observe/stats.js';
import { ask, chat, startHarness, type Harness } from '../helpers/harness.js';

const TOKEN = 'dash-token';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
/** How long a condition in the page may take: a poll is every 5 s, and the machine may be busy. */
const WAIT = { timeout: 25_000 };

const QUESTIONS = ['How do I reset my password?', 'What is the boiling point of water?', 'How many legs does a spider have?'];
const PARAPHRASES = ['How can I reset my password?', '  How many   legs does a spider have?'];
const MISSES = QUESTIONS.length;
const EXACT = 5;
const SEMANTIC = PARAPHRASES.length;

/** A share as the page writes it: percent, one decimal at most. */
const pct = (n: number, of: number) => `${Math.round((1000 * n) / of) / 10}%`;

let h: Harness;
let browser: Browser;
let page: Page;
/** console errors and warnings, page errors and CSP violations, from every page the browser opened */
const problems: string[] = [];

beforeAll(async () => {
  [h, browser] = await Promise.all([
    // --dashboard-prompts, so that the tables show prompts' text (and its escaping can be seen)
    startHarness({ 'admin-token': TOKEN, 'dashboard-prompts': 'true' }),
    chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] }),
  ]);
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function stats(): Promise<StatsJson> {
  const r = await fetch(`${h.reprise.url}/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(r.status).toBe(200);
  return (await r.json()) as StatsJson;
}

/** Pixels of a canvas within a few steps of `rgb` (lines and bars are drawn in their series' colour). */
function pixelsOf(selector: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(
    ([sel, [r, g, b]]) => {
      const canvas = document.querySelector<HTMLCanvasElement>(sel);
      if (!canvas || canvas.width === 0 || canvas.height === 0) return 0;
      // Read from a copy made for reading, so the chart's canvas is not read back (Chromium warns of that).
      const copy = document.createElement('canvas');
      copy.width = canvas.width;
      copy.height = canvas.height;
      const ctx = copy.getContext('2d', { willReadFrequently: true })!;
      ctx.drawImage(canvas, 0, 0);
      const d = ctx.getImageData(0, 0, copy.width, copy.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - r) < 16 && Math.abs(d[i + 1]! - g) < 16 && Math.abs(d[i + 2]! - b) < 16 && d[i + 3]! > 200) n++;
      return n;
    },
    [selector, rgb] as const,
  );
}

/** The rows of a table's body, cell texts. */
const rows = (selector: string) =>
  page.$$eval(`${selector} tbody tr`, (trs) => trs.map((tr) => [...(tr as HTMLTableRowElement).cells].map((c) => c.textContent ?? '')));

// A browser test waits on polls: room for two of them on a busy machine.
describe('the dashboard', { timeout: 60_000 }, () => {
  it(`known traffic: ${MISSES} misses, ${EXACT} exact hits, ${SEMANTIC} semantic hits`, async () => {
    const c = h.client('sk-dashboard');
    for (const q of QUESTIONS) expect((await chat(c, ask(q))).headers.get('x-cache-status')).toBe('MISS');
    const repeats = [...QUESTIONS, QUESTIONS[0]!, QUESTIONS[1]!];
    expect(repeats).toHaveLength(EXACT);
    for (const q of repeats) {
      const r = await chat(c, ask(q));
      expect([r.headers.get('x-cache-status'), r.headers.get('x-cache-match')]).toEqual(['HIT', 'exact']);
    }
    for (const q of PARAPHRASES) {
      const r = await chat(c, ask(q));
      expect([r.headers.get('x-cache-status'), r.headers.get('x-cache-match')]).toEqual(['HIT', 'semantic']);
    }
    expect(h.up.count('/chat/completions')).toBe(MISSES);
    const s = await stats();
    expect(s.requests).toMatchObject({ HIT: EXACT + SEMANTIC, MISS: MISSES });
    expect(s.hits).toEqual({ exact: EXACT, semantic: SEMANTIC });
  });

  it('without the token: /stats is a 401 in JSON, /dashboard the sign-in form; the assets are code, open to all', async () => {
    const url = h.reprise.url;
    const r = await fetch(`${url}/stats`);
    expect(r.status).toBe(401);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('invalid_admin_token');

    const signIn = await fetch(`${url}/dashboard`);
    expect(signIn.status).toBe(401);
    expect(signIn.headers.get('content-security-policy')).toContain("script-src 'self'; style-src 'self'");
    const form = await signIn.text();
    expect(form).toContain('<form method="post" action="/dashboard/login">');
    expect(form).not.toContain('dashboard.js');

    // The assets hold no stats: uPlot, and the script that reads /stats with the session.
    for (const asset of ['uplot.js', 'uplot.css', 'dashboard.js']) expect((await fetch(`${url}/dashboard/assets/${asset}`)).status, asset).toBe(200);

    // A wrong token gets the form again with the problem said, and no cookie.
    const wrong = await fetch(`${url}/dashboard/login`, { method: 'POST', body: new URLSearchParams({ token: 'not-it' }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('That token is not the admin token.');
  });

  it('in Chromium: sign in with the form, see the hit rate, the charts drawn and the tables, with no console error', async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    let signedIn = false;
    page.on('console', (m) => {
      if (m.type() !== 'error' && m.type() !== 'warning') return;
      // Chromium logs the sign-in page's own status, a 401 by design, as a resource that failed to load.
      if (!signedIn && m.text().includes('status of 401') && new URL(m.location().url).pathname === '/dashboard') return;
      problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // A CSP violation is also a console error in Chromium; the event says it in so many words.
    await page.addInitScript({
      content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
    });

    const first = await page.goto(`${h.reprise.url}/dashboard`);
    expect(first!.status()).toBe(401);
    await page.getByLabel('Admin token').fill(TOKEN);
    const landed = page.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname === '/dashboard');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await landed).status()).toBe(200);
    signedIn = true;
    expect(new URL(page.url()).pathname).toBe('/dashboard');

    // The session: an HttpOnly, SameSite=Strict cookie that is not the token.
    const [session] = (await page.context().cookies()).filter((c) => c.name === 'reprise_dashboard');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(session!.value).not.toContain(TOKEN);

    const asked = MISSES + EXACT + SEMANTIC;
    const want = { hitRate: pct(EXACT + SEMANTIC, asked), exact: pct(EXACT, asked), semantic: pct(SEMANTIC, asked) };
    expect(want).toEqual({ hitRate: '70%', exact: '50%', semantic: '20%' });
    await page.waitForFunction((w) => document.getElementById('hit-rate-value')?.textContent === w, want.hitRate, WAIT);
    expect(await page.textContent('#exact-rate')).toBe(want.exact);
    expect(await page.textContent('#semantic-rate')).toBe(want.semantic);

    // The charts: uPlot canvases with a size, and their series drawn in their colours.
    await page.waitForFunction(
      () =>
        ['#chart-hit-rate', '#chart-requests', '#chart-similarity'].every((id) => {
          const c = document.querySelector<HTMLCanvasElement>(`${id} canvas`);
          return c !== null && c.width > 0 && c.height > 0;
        }),
      undefined,
      WAIT,
    );
    expect(await pixelsOf('#chart-hit-rate canvas', [0x15, 0x65, 0xc0]), 'the exact series').toBeGreaterThan(10);
    expect(await pixelsOf('#chart-hit-rate canvas', [0x2e, 0x7d, 0x32]), 'the semantic series').toBeGreaterThan(10);
    expect(await pixelsOf('#chart-requests canvas', [0x00, 0x89, 0x7b]), 'the hits bar').toBeGreaterThan(10);
    expect(await pixelsOf('#chart-similarity canvas', [0x2e, 0x7d, 0x32]), 'the served bars').toBeGreaterThan(10);
    expect(await pixelsOf('#chart-similarity canvas', [0x6a, 0x1b, 0x9a]), 'the threshold line').toBeGreaterThan(10);

    // The rest of the page says what /stats says.
    const s = await stats();
    expect(await page.textContent('#writes')).toBe(String(MISSES));
    expect(await page.textContent('#entries')).toBe(String(s.entries));
    expect(await page.textContent('#tokens-input')).toBe(s.tokens.input.toLocaleString('en-US'));
    expect(await page.textContent('#tokens-output')).toBe(s.tokens.output.toLocaleString('en-US'));
    expect(await page.textContent('#threshold')).toBe(String(s.threshold));
    expect(await page.textContent('#upstream-cached')).toBe('0');
    expect((await rows('#latency')).map((r) => r.at(-1))).toEqual([String(EXACT + SEMANTIC), String(MISSES), String(MISSES)]);
    // Most hit: the password entry, by two exact hits and one semantic.
    expect((await rows('#top'))[0]).toEqual(['3', QUESTIONS[0], 'chat', 'gpt-4o-mini']);
    expect((await rows('#misses')).map((r) => r[1])).toEqual([...QUESTIONS].reverse());
    expect(await rows('#refusals')).toEqual(
      Object.keys(s.refusals).length === 0 ? [['none']] : Object.entries(s.refusals).sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, String(n)]),
    );
    expect(await page.textContent('#feedback-wrong')).toBe('0');
    expect(await page.isHidden('#warnings')).toBe(true);

    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    expect(problems).toEqual([]);
  });

  it('steady traffic with no hits on a route raises the warning banner (role="alert")', async () => {
    // 20 unrelated questions under a model of their own, four a minute for five minutes of the harness's clock,
    // which is Reprise's (and so its timeline's). One carries markup, which the page must show as text.
    const questions = [
      'What is the capital of Australia?', 'How do volcanoes form?', 'Who painted the Mona Lisa?', 'What causes the seasons on Earth?',
      'How do I bake sourdough bread?', 'What is the speed of light in a vacuum?', 'Why is the sky blue?', 'How does a bicycle gear system work?',
      'What language is spoken in Brazil?', 'How many players are on a football team?', 'What is photosynthesis?', 'Who wrote Pride and Prejudice?',
      'How do vaccines train the immune system?', 'What is the tallest mountain in Africa?', 'How do I change a flat tyre?', 'What does the <b>bold</b> tag do in <img src=x>HTML?',
      'When did the Roman Empire fall?', 'How do bees make honey?', 'What is compound interest?', 'Which planet has the most moons?',
    ];
    const c = h.client('sk-dashboard');
    for (const [i, q] of questions.entries()) {
      if (i > 0 && i % 4 === 0) h.clock.advance(60_000);
      const r = await chat(c, ask(q, { model: 'gpt-4o-nohits' }));
      expect(r.headers.get('x-cache-status'), q).toBe('MISS');
    }
    expect((await stats()).warnings).toEqual([{ endpoint: 'chat', model: 'gpt-4o-nohits', requests: 20, minutes: 15 }]);

    // The page sees it at its next poll.
    await page.waitForFunction(() => {
      const w = document.getElementById('warnings');
      return w !== null && !w.hidden && (w.textContent ?? '').includes('gpt-4o-nohits');
    }, undefined, WAIT);
    expect(await page.getAttribute('#warnings', 'role')).toBe('alert');
    expect(await page.isVisible('#warnings')).toBe(true);
    expect(await page.textContent('#warnings-list')).toBe('gpt-4o-nohits on chat: 20 requests in the last 15 minutes, no hit');
    const asked = MISSES + EXACT + SEMANTIC + questions.length;
    expect(await page.textContent('#hit-rate-value')).toBe(pct(EXACT + SEMANTIC, asked));
    // Text from the stats is text: the markup shows as written, and makes no element.
    expect((await rows('#misses')).map((r) => r[1])).toContain(questions[15]);
    expect(await page.locator('#misses b, #misses img').count()).toBe(0);

    await page.screenshot({ path: `${ARTIFACTS}dashboard-warning.png`, fullPage: true });

    // A narrow window: the charts follow its width.
    await page.setViewportSize({ width: 500, height: 1000 });
    await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('#chart-hit-rate canvas')!.getBoundingClientRect().width <= 460, undefined, WAIT);
    expect(problems).toEqual([]);
  });

  it('a session that ends stops the polling and offers to sign in again', async () => {
    await page.context().clearCookies();
    await page.waitForFunction(() => (document.getElementById('status')?.textContent ?? '').startsWith('Signed out'), undefined, WAIT);
    expect(await page.getAttribute('#status a', 'href')).toBe('/dashboard');
    // The one console line: Chromium's note of that 401.
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/status of 401 .*\/stats\)$/);
  });
});
