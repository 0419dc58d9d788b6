/**
 * @module routes/dashboard: the dashboard page, its assets, and who may see them and the stats. Without an admin
 * token they are open (bind Reprise to a private address then); with one, each request needs `Authorization:
 * Bearer <token>` or the session cookie a person gets by typing the token into the page's sign-in form. The token
 * then never sits in a URL (history, logs, Referer); the cookie holds an HMAC of it, HttpOnly and SameSite=Strict.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { dashboardPage, dashboardScript, signInPage } from '../dashboard/page.js';
import { TOO_LARGE, type Reply, type RequestView } from '../http/types.js';
import { NotFoundError, RepriseError } from '../openai/errors.js';
import { sameToken } from './admin.js';

export interface DashboardAssets {
  /** uPlot's script and stylesheet, read by the front from the uplot package */
  'uplot.js': string;
  'uplot.css': string;
}

export interface DashboardDeps {
  /** empty: open */
  token: string;
  assets: DashboardAssets | undefined;
  /** ms since epoch, for the session's age */
  now: () => number;
}

const COOKIE = 'reprise_dashboard';
/** A session lasts a working day. */
const SESSION_SECONDS = 12 * 3600;

class UnauthorizedError extends RepriseError {
  override readonly name = 'UnauthorizedError';
  constructor() {
    super('The stats need Authorization: Bearer <admin token>, or a dashboard session.', 401, 'invalid_request_error', 'invalid_admin_token');
  }
}

/**
 * The session cookie: when it was issued, and an HMAC of that keyed with the token, so the cookie is not the token,
 * ends when the session does, and every session ends when the token changes.
 */
const sessionOf = (token: string, issued: number) => `${issued}.${bytesToHex(hmac(sha256, utf8ToBytes(token), utf8ToBytes(`reprise-dashboard-session:${issued}`)))}`;

function validSession(deps: DashboardDeps, session: string): boolean {
  const issued = Number(session.slice(0, session.indexOf('.')));
  if (!Number.isSafeInteger(issued)) return false;
  const age = deps.now() - issued;
  return age >= 0 && age < SESSION_SECONDS * 1000 && sameToken(session, sessionOf(deps.token, issued));
}

function cookie(view: RequestView, name: string): string | undefined {
  for (const part of (view.headers.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** May this request see the dashboard and the stats? */
export function authorized(deps: DashboardDeps, view: RequestView): boolean {
  if (!deps.token) return true;
  const auth = view.headers.get('authorization') ?? '';
  if (auth.startsWith('Bearer ') && sameToken(auth.slice(7), deps.token)) return true;
  const session = cookie(view, COOKIE);
  return session !== undefined && validSession(deps, session);
}

/** The stats route's gate: throws a 401 for a request that may not see them. */
export function requireStats(deps: DashboardDeps, view: RequestView): void {
  if (!authorized(deps, view)) throw new UnauthorizedError();
}

const html = (status: number, body: string, headers: Array<[string, string]> = []): Reply => ({
  status,
  headers: [
    ['content-type', 'text/html; charset=utf-8'],
    ['cache-control', 'no-store'],
    // Everything it loads is its own: no inline script from elsewhere, no framing.
    ['content-security-policy', "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"],
    ['x-content-type-options', 'nosniff'],
    ...headers,
  ],
  body,
});

/** `/dashboard`, `/dashboard/login` and `/dashboard/assets/*`. `path` is the request's path without its query. */
export async function dashboardRoute(deps: DashboardDeps, view: RequestView, path: string): Promise<Reply> {
  if (path === '/dashboard/login' && view.method === 'POST') {
    const raw = await view.readBody(4096);
    const form = new URLSearchParams(raw === TOO_LARGE ? '' : new TextDecoder().decode(raw));
    const given = form.get('token') ?? '';
    if (!deps.token || !sameToken(given, deps.token)) return html(401, signInPage('That token is not the admin token.'));
    const secure = (view.headers.get('x-forwarded-proto') ?? '').includes('https') ? '; Secure' : '';
    return {
      status: 303,
      headers: [
        ['location', '/dashboard'],
        ['set-cookie', `${COOKIE}=${sessionOf(deps.token, deps.now())}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_SECONDS}${secure}`],
        ['cache-control', 'no-store'],
      ],
      body: '',
    };
  }
  if (view.method !== 'GET' && view.method !== 'HEAD') throw new NotFoundError(path);
  if (path === '/dashboard' || path === '/dashboard/') return authorized(deps, view) ? html(200, dashboardPage()) : html(401, signInPage());
  const asset = /^\/dashboard\/assets\/([a-z.]+)$/.exec(path)?.[1];
  if (asset && deps.assets) {
    const text = asset === 'uplot.js' || asset === 'uplot.css' ? deps.assets[asset] : asset === 'dashboard.js' ? dashboardScript() : undefined;
    if (text !== undefined) {
      const type = asset.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
      // The page's own script changes with Reprise (and with the stats schema): revalidated, never kept stale.
      const cache = asset === 'dashboard.js' ? 'no-cache' : 'public, max-age=3600';
      return { status: 200, headers: [['content-type', type], ['cache-control', cache], ['x-content-type-options', 'nosniff']], body: text };
    }
  }
  throw new NotFoundError(path);
}
