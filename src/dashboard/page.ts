/**
 * @module dashboard/page: the dashboard's HTML, its script and the sign-in page. Served by Reprise itself
 * (routes/dashboard.ts), with uPlot from npm as its only library and no CDN; the script reads GET /stats every five
 * seconds (same origin, with the session cookie) and draws it.
 *
 * The page is served with `script-src 'self'; style-src 'self'`: no inline script, no `<style>` block, no style
 * attribute. Its own look is a stylesheet the script builds through the CSSOM (a constructed CSSStyleSheet), which
 * the policy does not govern; without it the page is plain semantic HTML and still readable. Every text that comes
 * from the stats is set with textContent, never parsed as HTML.
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** No favicon request (a 404 in the console): an empty data: icon, which img-src allows. */
const HEAD = `<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">`;

export function signInPage(problem = ''): string {
  return `<!doctype html><html lang="en"><head>${HEAD}<title>Reprise: sign in</title></head><body>
<h1>Reprise dashboard</h1>
${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/dashboard/login">
<label>Admin token <input type="password" name="token" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form></body></html>`;
}

/** The page: its structure, with stable ids; dashboardScript() fills it in. */
export function dashboardPage(): string {
  return `<!doctype html><html lang="en"><head>${HEAD}<title>Reprise dashboard</title>
<link rel="stylesheet" href="/dashboard/assets/uplot.css">
<script src="/dashboard/assets/uplot.js" defer></script>
<script src="/dashboard/assets/dashboard.js" defer></script>
</head><body>
<header><h1>Reprise</h1><p id="status" aria-live="polite">Loading the stats…</p></header>

<section id="warnings" role="alert" hidden>
<h2>Steady traffic, no hits</h2>
<p>These routes had steady traffic in the last minutes and not one hit. Their prompts may differ in a detail the key
holds (a date, an id, a system prompt), or the threshold may be too strict for them.</p>
<ul id="warnings-list"></ul>
</section>

<main>
<section aria-labelledby="h-numbers"><h2 id="h-numbers">Since start</h2>
<dl id="numbers">
<div><dt>Hit rate</dt><dd><span id="hit-rate-value">–</span><small>exact <span id="exact-rate">–</span>, semantic <span id="semantic-rate">–</span>; <span id="hit-counts">–</span></small></dd></div>
<div><dt>Requests per second</dt><dd><span id="request-rate">–</span><small>over the last 5 minutes</small></dd></div>
<div><dt>Tokens saved</dt><dd><span id="tokens-saved">–</span><small>input <span id="tokens-input">–</span>, output <span id="tokens-output">–</span></small></dd></div>
<div><dt>Money saved</dt><dd><span id="money-saved">–</span><small>USD, by the price table</small></dd></div>
<div><dt>Upstream prompt cache</dt><dd><span id="upstream-cached">–</span><small>input tokens of served answers the provider had cached: not counted as savings</small></dd></div>
<div><dt>Writes</dt><dd><span id="writes">–</span><small>answers stored</small></dd></div>
<div><dt>Entries</dt><dd><span id="entries">–</span><small id="bytes">in the store</small></dd></div>
</dl>
</section>

<section aria-labelledby="h-hour"><h2 id="h-hour">The last hour, minute by minute</h2>
<div class="charts">
<figure id="chart-hit-rate"><figcaption>Hit rate (%): exact and semantic hits of the requests looked up</figcaption></figure>
<figure id="chart-requests"><figcaption>Requests per minute, and how many of them hit</figcaption></figure>
</div>
<table id="latency"><caption>Latency in the last hour, ms (the upper bound of the bucket the quantile falls in)</caption>
<thead><tr><th scope="col"></th><th scope="col">p50</th><th scope="col">p99</th><th scope="col">requests</th></tr></thead>
<tbody>
<tr id="latency-hit"><th scope="row">hits, to the first byte</th><td class="n"></td><td class="n"></td><td class="n"></td></tr>
<tr id="latency-miss"><th scope="row">misses, to the first byte</th><td class="n"></td><td class="n"></td><td class="n"></td></tr>
<tr id="latency-own"><th scope="row">Reprise's own time on misses</th><td class="n"></td><td class="n"></td><td class="n"></td></tr>
</tbody></table>
</section>

<section aria-labelledby="h-semantic"><h2 id="h-semantic">Semantic lookups, since start</h2>
<div class="charts">
<figure id="chart-similarity"><figcaption>The best candidate's similarity, served and refused, per bucket (each up to
its label); the dashed line is the threshold, <span id="threshold">–</span></figcaption></figure>
<table id="refusals"><caption>Candidates refused, by reason</caption>
<thead><tr><th scope="col">reason</th><th scope="col">count</th></tr></thead>
<tbody></tbody>
<tfoot><tr><th scope="row">hits reported wrong (feedback)</th><td class="n" id="feedback-wrong">–</td></tr></tfoot>
</table>
</div>
</section>

<section aria-labelledby="h-entries"><h2 id="h-entries">Entries and misses</h2>
<div class="charts">
<table id="top"><caption>Most-hit entries</caption>
<thead><tr><th scope="col">hits</th><th scope="col">prompt, or entry id</th><th scope="col">endpoint</th><th scope="col">model</th></tr></thead>
<tbody></tbody></table>
<table id="misses"><caption>Latest misses</caption>
<thead><tr><th scope="col">at</th><th scope="col">prompt</th><th scope="col">endpoint</th><th scope="col">model</th></tr></thead>
<tbody></tbody></table>
</div>
</section>
</main>
</body></html>`;
}

/**
 * The page's script: plain browser JavaScript, no build step. It avoids backquotes and `${`, so that it can sit in
 * this template string as it is.
 */
export function dashboardScript(): string {
  return `'use strict';
(function () {
  const POLL_MS = 5000;
  const MINUTE = 60000;
  const COLOUR = { exact: '#1565c0', semantic: '#2e7d32', requests: '#90a4ae', hits: '#00897b', served: '#2e7d32', refused: '#c62828', threshold: '#6a1b9a' };
  const CSS = [
    'body { font: 14px/1.45 system-ui, sans-serif; color: #1b1b1b; margin: 0 auto; max-width: 1200px; padding: 8px 16px 40px; }',
    'h1 { margin: 8px 0 0; font-size: 22px; } h2 { font-size: 16px; margin: 26px 0 8px; }',
    '#status { color: #555; margin: 2px 0 12px; } #status.problem { color: #b71c1c; font-weight: 600; }',
    '#warnings { border: 2px solid #e65100; background: #fff3e0; padding: 6px 14px; border-radius: 6px; }',
    '#warnings h2 { margin: 4px 0; color: #bf360c; } #warnings li { font-weight: 600; }',
    '#numbers { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; margin: 0; }',
    '#numbers > div { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; }',
    'dt { color: #555; font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; } dd { margin: 2px 0 0; }',
    'dd > span:first-child { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }',
    'dd small { display: block; color: #555; }',
    '.charts { display: flex; flex-wrap: wrap; gap: 12px 32px; align-items: flex-start; }',
    'figure { margin: 0; } figcaption { color: #444; margin-bottom: 4px; max-width: 560px; }',
    'table { border-collapse: collapse; margin: 8px 0 16px; } caption { text-align: left; font-weight: 600; padding-bottom: 4px; }',
    'th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid #eee; vertical-align: top; }',
    'td.n { text-align: right; font-variant-numeric: tabular-nums; } td.prompt { max-width: 460px; overflow-wrap: anywhere; }',
    'td.id { font-family: ui-monospace, monospace; font-size: 12px; color: #555; } td.none { color: #777; font-style: italic; }',
  ].join(' ');

  const $ = (id) => document.getElementById(id);
  const set = (id, text) => { $(id).textContent = text; };

  function addStyles() {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat(sheet);
    } catch (e) {
      // an old browser: the page stays plain HTML
    }
  }

  // Numbers as the page shows them.
  const pct = (n, of) => (of > 0 ? Math.round((1000 * n) / of) / 10 + '%' : '–');
  const int = (n) => Number(n || 0).toLocaleString('en-US');
  const usd = (v) => (!v ? '$0' : v < 1 ? '$' + v.toPrecision(3) : '$' + v.toFixed(2));
  const bytes = (n) => (n >= 1048576 ? (n / 1048576).toFixed(1) + ' MiB' : n >= 1024 ? (n / 1024).toFixed(1) + ' KiB' : n + ' B');
  const clock = (ms) => new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
  // A quantile is a bucket's upper bound; null with requests counted means past the last bucket (60 s).
  const latency = (q, count) => (count === 0 ? '–' : q === null ? '> 60000' : '≤ ' + q);

  /** Table rows from items; each cell is text, or [text, class]. No list: one row saying so. */
  function fill(table, items, cells, none) {
    const body = table.tBodies[0];
    const rows = items.map((item) => {
      const tr = document.createElement('tr');
      for (const cell of cells(item)) {
        const td = document.createElement('td');
        const [text, cls] = Array.isArray(cell) ? cell : [cell, ''];
        td.textContent = String(text);
        if (cls) td.className = cls;
        tr.append(td);
      }
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = table.tHead.rows[0].cells.length;
      td.className = 'none';
      td.textContent = none;
      tr.append(td);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
  }

  /** The last hour as 60 one-minute slots ending with the current one (x in seconds, as uPlot's time scale has it). */
  function hour(s) {
    const end = Math.floor(s.generatedAt / MINUTE) * MINUTE;
    const byT = new Map(s.minutes.map((m) => [m.t, m]));
    const out = { x: [], exact: [], semantic: [], requests: [], hits: [] };
    for (let k = 59; k >= 0; k--) {
      const t = end - k * MINUTE;
      const m = byT.get(t);
      const looked = m ? m.exact + m.semantic + m.misses : 0;
      out.x.push(t / 1000);
      out.exact.push(looked ? (100 * m.exact) / looked : null);
      out.semantic.push(looked ? (100 * m.semantic) / looked : null);
      out.requests.push(m ? m.requests : 0);
      out.hits.push(m ? m.exact + m.semantic : 0);
    }
    return out;
  }

  /** Requests per second over the last five minutes (or since the first minute on record, if later; at least a minute). */
  function requestRate(s) {
    const since = Math.max(s.generatedAt - 5 * MINUTE, s.minutes.length ? s.minutes[0].t : s.generatedAt);
    const n = s.minutes.filter((m) => m.t + MINUTE > since).reduce((sum, m) => sum + m.requests, 0);
    return n / (Math.max(MINUTE, s.generatedAt - since) / 1000);
  }

  // The similarity chart's x is the bucket's index: bar i holds (le[i-1], le[i]], the last bar what is above le's last.
  const bucketLabel = (le, i) => (i === 0 ? '≤' + le[0] : i < le.length ? String(le[i]).replace(/^0\\./, '.') : '>' + le[le.length - 1]);
  /** Where a similarity sits on that axis: bar i spans i - 0.5 to i + 0.5, linearly between its bounds. */
  function similarityX(le, v) {
    if (v <= le[0]) return -0.5;
    for (let i = 1; i < le.length; i++) if (v <= le[i]) return i - 0.5 + (v - le[i - 1]) / (le[i] - le[i - 1]);
    return le.length - 0.5;
  }

  const charts = {};
  let threshold = null;
  const chartWidth = () => Math.max(300, Math.min(560, document.documentElement.clientWidth - 40));
  const atZero = (u, min, max) => [0, Math.max(1, max * 1.1)];
  // Half a minute either side, so that the first and the current minute are not cut in half at the edges.
  const halfMinuteMore = (u, min, max) => [min - 30, max + 30];

  function makeCharts(s, h) {
    const width = chartWidth();
    const bars = uPlot.paths.bars;
    charts.hitRate = new uPlot({
      width, height: 220,
      scales: { x: { time: true, range: halfMinuteMore }, y: { range: [0, 100] } },
      series: [
        {},
        { label: 'exact', stroke: COLOUR.exact, width: 2, points: { show: true, size: 5, fill: COLOUR.exact }, value: (u, v) => (v == null ? '–' : v.toFixed(1) + '%') },
        { label: 'semantic', stroke: COLOUR.semantic, width: 2, points: { show: true, size: 5, fill: COLOUR.semantic }, value: (u, v) => (v == null ? '–' : v.toFixed(1) + '%') },
      ],
      axes: [{}, { values: (u, ticks) => ticks.map((v) => v + '%') }],
    }, [h.x, h.exact, h.semantic], $('chart-hit-rate'));

    charts.requests = new uPlot({
      width, height: 220,
      scales: { x: { time: true, range: halfMinuteMore }, y: { range: atZero } },
      series: [
        {},
        { label: 'requests', fill: COLOUR.requests, stroke: COLOUR.requests, width: 0, paths: bars({ size: [0.8, 24] }), points: { show: false } },
        { label: 'hits', fill: COLOUR.hits, stroke: COLOUR.hits, width: 0, paths: bars({ size: [0.8, 24] }), points: { show: false } },
      ],
    }, [h.x, h.requests, h.hits], $('chart-requests'));

    const le = s.similarity.le;
    charts.similarity = new uPlot({
      width, height: 240,
      scales: { x: { time: false, range: [-0.5, le.length + 0.5] }, y: { range: atZero } },
      series: [
        { label: 'similarity', value: (u, i) => (i == null ? '–' : bucketLabel(le, i)) },
        { label: 'served', fill: COLOUR.served, stroke: COLOUR.served, width: 0, paths: bars({ size: [0.42, 16], align: -1 }), points: { show: false } },
        { label: 'refused', fill: COLOUR.refused, stroke: COLOUR.refused, width: 0, paths: bars({ size: [0.42, 16], align: 1 }), points: { show: false } },
      ],
      axes: [
        { splits: () => le.map((_, i) => i).concat(le.length), values: (u, splits) => splits.map((i) => bucketLabel(le, i)), gap: 4, size: 36 },
        {},
      ],
      hooks: {
        draw: [
          (u) => {
            if (threshold === null) return;
            const px = u.valToPos(similarityX(le, threshold), 'x', true);
            const ctx = u.ctx;
            const r = window.devicePixelRatio || 1;
            ctx.save();
            ctx.strokeStyle = COLOUR.threshold;
            ctx.fillStyle = COLOUR.threshold;
            ctx.lineWidth = 2 * r;
            ctx.setLineDash([6 * r, 4 * r]);
            ctx.beginPath();
            ctx.moveTo(px, u.bbox.top);
            ctx.lineTo(px, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.font = 12 * r + 'px system-ui, sans-serif';
            ctx.textAlign = 'right';
            ctx.fillText('threshold ' + threshold, px - 4 * r, u.bbox.top + 14 * r);
            ctx.restore();
          },
        ],
      },
    }, similarityData(s), $('chart-similarity'));

    window.addEventListener('resize', () => {
      const w = chartWidth();
      for (const c of Object.values(charts)) c.setSize({ width: w, height: c.height });
    });
  }

  function similarityData(s) {
    const n = s.similarity.le.length + 1;
    const x = [], served = [], refused = [];
    for (let i = 0; i < n; i++) {
      x.push(i);
      served.push(s.similarity.served[i] || 0);
      refused.push(s.similarity.refused[i] || 0);
    }
    return [x, served, refused];
  }

  function show(s) {
    const asked = s.requests.HIT + s.requests.MISS;
    set('hit-rate-value', pct(s.requests.HIT, asked));
    set('exact-rate', pct(s.hits.exact, asked));
    set('semantic-rate', pct(s.hits.semantic, asked));
    set('hit-counts', int(s.requests.HIT) + ' of ' + int(asked) + ' looked up; ' + int(s.requests.BYPASS) + ' bypassed, ' + int(s.requests.ERROR) + ' failed open');
    set('request-rate', requestRate(s).toFixed(2));
    set('tokens-saved', int(s.tokens.input + s.tokens.output));
    set('tokens-input', int(s.tokens.input));
    set('tokens-output', int(s.tokens.output));
    set('money-saved', usd(s.moneySavedUsd));
    set('upstream-cached', int(s.tokens.upstreamCached));
    set('writes', int(s.writes));
    set('entries', int(s.entries));
    set('bytes', s.bytes === undefined ? 'in the store' : 'in the store, ' + bytes(s.bytes));
    set('threshold', s.threshold === null ? 'not known yet' : String(s.threshold));
    threshold = s.threshold;

    const warnings = s.warnings || [];
    $('warnings').hidden = warnings.length === 0;
    $('warnings-list').replaceChildren(...warnings.map((w) => {
      const li = document.createElement('li');
      li.textContent = w.model + ' on ' + w.endpoint + ': ' + int(w.requests) + ' requests in the last ' + w.minutes + ' minutes, no hit';
      return li;
    }));

    const rows = { hit: s.latencyMs.hit, miss: s.latencyMs.miss, own: s.latencyMs.ownOnMiss };
    for (const [key, q] of Object.entries(rows)) {
      const cells = $('latency-' + key).cells;
      cells[1].textContent = latency(q.p50, q.count);
      cells[2].textContent = latency(q.p99, q.count);
      cells[3].textContent = int(q.count);
    }

    const refusals = Object.entries(s.refusals).sort((a, b) => b[1] - a[1]);
    fill($('refusals'), refusals, ([reason, n]) => [reason, [int(n), 'n']], 'none');
    set('feedback-wrong', int(s.feedbackWrong));
    fill($('top'), s.top, (e) => [[int(e.hits), 'n'], e.text === undefined ? [e.id, 'id'] : [e.text, 'prompt'], e.endpoint, e.model], 'no hits yet');
    fill($('misses'), s.recentMisses, (m) => [clock(m.at), m.text === undefined ? ['(prompt not shown)', 'none'] : [m.text, 'prompt'], m.endpoint, m.model], 'no misses yet');

    if (typeof uPlot === 'undefined') throw new Error('uPlot did not load, so there are no charts');
    const h = hour(s);
    if (!charts.hitRate) makeCharts(s, h);
    else {
      charts.hitRate.setData([h.x, h.exact, h.semantic]);
      charts.requests.setData([h.x, h.requests, h.hits]);
      charts.similarity.setData(similarityData(s));
    }
    const status = $('status');
    status.className = '';
    status.textContent = 'Stats of ' + clock(s.generatedAt) + ' from ' + s.replicas + (s.replicas === 1 ? ' replica' : ' replicas') + '; read every ' + POLL_MS / 1000 + ' s.';
  }

  function problem(text, link) {
    const status = $('status');
    status.className = 'problem';
    status.textContent = text;
    if (link) {
      const a = document.createElement('a');
      a.href = '/dashboard';
      a.textContent = link;
      status.append(' ', a);
    }
  }

  async function poll() {
    try {
      const r = await fetch('/stats', { credentials: 'same-origin', cache: 'no-store' });
      if (r.status === 401) {
        // The session ended (or the token changed): polling again cannot help.
        problem('Signed out: the session has ended.', 'Sign in again');
        return;
      }
      if (!r.ok) throw new Error('HTTP ' + r.status);
      show(await r.json());
    } catch (e) {
      problem('Stats unavailable (' + (e && e.message ? e.message : e) + '); trying again in ' + POLL_MS / 1000 + ' s.');
    }
    setTimeout(poll, POLL_MS);
  }

  addStyles();
  poll();
})();
`;
}
