/** @module upstream/headers: header hygiene between client, Reprise and upstream, on plain header lists. */
import type { HeaderList } from '../http/types.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus those the HTTP layer recomputes; never forwarded either way. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  // node:http has answered a client's 100-continue itself; undici refuses to send the header on.
  'expect',
]);

/** Reprise's own controls (x-cache-*): meaningful to Reprise, noise to upstream. */
const OWN_PREFIX = 'x-cache-';

const NONE: ReadonlySet<string> = new Set();

/** Names a Connection header lists, which are hop-by-hop for this one message. */
function connectionListed(headers: HeaderList): ReadonlySet<string> {
  let out: Set<string> | undefined;
  for (const [name, value] of headers) {
    if (name !== 'connection') continue;
    for (const n of value.split(',')) {
      const t = n.trim().toLowerCase();
      if (t) (out ??= new Set()).add(t);
    }
  }
  return out ?? NONE;
}

/**
 * Client → upstream, as one value per name (repeats joined with ", ", as a Web Headers object joins them), so
 * upstream reads exactly the credentials Reprise keyed the request on. Authorization goes through as is.
 * @param identityEncoding ask for an uncompressed answer: Reprise must read the bodies it caches
 */
export function upstreamRequestHeaders(headers: HeaderList, identityEncoding: boolean): Record<string, string> {
  const listed = connectionListed(headers);
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name) || name.startsWith(OWN_PREFIX) || listed.has(name)) continue;
    const had = out[name];
    // Cookie pairs are joined with "; " (RFC 6265 §5.4); other repeats with ", ".
    out[name] = had === undefined ? value : `${had}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  if (identityEncoding) out['accept-encoding'] = 'identity';
  return out;
}

/** HTTP whitespace at either end of a value, which a Web Headers object strips. */
const EDGE_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const trim = (v: string) => (v.length > 0 && (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32) ? v.replace(EDGE_WS, '') : v);

/**
 * Upstream → client: everything but hop-by-hop headers, as a Web Headers object holds them, so every runtime sends
 * the same: values trimmed, a repeated name joined into one value with ", ", except Set-Cookie, whose repeats
 * stay apart (a cookie's value may hold a comma).
 */
export function clientResponseHeaders(headers: HeaderList): HeaderList {
  const listed = connectionListed(headers);
  const out: HeaderList = [];
  const at = new Map<string, number>();
  for (const [name, raw] of headers) {
    if (HOP_BY_HOP.has(name) || listed.has(name)) continue;
    const value = trim(raw);
    const i = name === 'set-cookie' ? undefined : at.get(name);
    if (i === undefined) {
      if (name !== 'set-cookie') at.set(name, out.length);
      out.push([name, value]);
    } else {
      out[i] = [name, `${out[i]![1]}, ${value}`];
    }
  }
  return out;
}
