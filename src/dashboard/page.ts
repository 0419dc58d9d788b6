/**
 * @module dashboard/page: the dashboard's HTML, its script and the sign-in page. Served by Reprise itself
 * (routes/dashboard.ts), with uPlot from npm as its only library and no CDN; the script reads GET /stats every few
 * seconds (same origin, with the session cookie).
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function signInPage(problem = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reprise: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<h1>Reprise dashboard</h1>
${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/dashboard/login">
<label>Admin token <input type="password" name="token" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form></body></html>`;
}

/** The page; filled in by dashboardScript(). */
export function dashboardPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reprise</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/dashboard/assets/uplot.css">
</head><body>
<h1>Reprise</h1>
<p id="status">Loading…</p>
<div id="hit-rate"></div>
<script src="/dashboard/assets/uplot.js"></script>
<script src="/dashboard/assets/dashboard.js"></script>
</body></html>`;
}

export function dashboardScript(): string {
  return `'use strict';
(async function poll() {
  try {
    const r = await fetch('/stats', { credentials: 'same-origin' });
    const s = await r.json();
    const served = s.requests.HIT, asked = s.requests.HIT + s.requests.MISS;
    document.getElementById('status').textContent = 'Hit rate ' + (asked ? Math.round((100 * served) / asked) : 0) + '%';
  } catch (e) {
    document.getElementById('status').textContent = 'Stats unavailable: ' + e;
  }
  setTimeout(poll, 5000);
})();
`;
}
