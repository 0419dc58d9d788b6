/** Who may see the dashboard and the stats: the token, or a session that is the token's and not older than 12 hours. */
import { describe, expect, it } from 'vitest';
import { authorized, dashboardRoute, type DashboardDeps } from '../../src/routes/dashboard.js';
import type { RequestView } from '../../src/http/types.js';

function view(method: string, url: string, headers: Record<string, string> = {}, body = ''): RequestView {
  const h = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method,
    url,
    headers: { get: (n: string) => h.get(n.toLowerCase()), list: () => [...h.entries()] },
    readBody: async () => new TextEncoder().encode(body),
  };
}

describe('dashboard auth', () => {
  let now = Date.UTC(2026, 0, 1);
  const deps: DashboardDeps = { token: 'tok-123', assets: undefined, now: () => now };

  it('a sign-in with the token gives a session cookie that is not the token, and that expires', async () => {
    expect(authorized(deps, view('GET', '/stats'))).toBe(false);
    expect(authorized(deps, view('GET', '/stats', { authorization: 'Bearer tok-123' }))).toBe(true);
    const bad = await dashboardRoute(deps, view('POST', '/dashboard/login', {}, 'token=nope'), '/dashboard/login');
    expect(bad.status).toBe(401);
    const ok = await dashboardRoute(deps, view('POST', '/dashboard/login', {}, 'token=tok-123'), '/dashboard/login');
    expect(ok.status).toBe(303);
    const set = ok.headers.find(([n]) => n === 'set-cookie')![1];
    expect(set).toMatch(/HttpOnly; SameSite=Strict/);
    expect(set).not.toContain('tok-123');
    const cookie = set.split(';')[0]!;
    expect(authorized(deps, view('GET', '/stats', { cookie }))).toBe(true);
    // A forged or re-dated session is refused; so is one past its 12 hours, and any after the token changed.
    const [name, value] = cookie.split('=') as [string, string];
    expect(authorized(deps, view('GET', '/stats', { cookie: `${name}=${now + 1}.${value.split('.')[1]}` }))).toBe(false);
    expect(authorized({ ...deps, token: 'tok-456' }, view('GET', '/stats', { cookie }))).toBe(false);
    now += 12 * 3600 * 1000;
    expect(authorized(deps, view('GET', '/stats', { cookie }))).toBe(false);
  });
});
