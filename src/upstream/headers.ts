/** @module upstream/headers: header hygiene between client, Reprise and upstream. */

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
]);

/** Reprise's own controls: meaningful to Reprise, noise to upstream. */
export const OWN = /^x-cache-/;

function dropListedInConnection(src: Headers, out: Headers): void {
  for (const name of (src.get('connection') ?? '').split(',')) {
    const n = name.trim().toLowerCase();
    if (n) out.delete(n);
  }
}

/** Client → upstream. Authorization goes through as is. */
export function requestHeadersForUpstream(src: Headers, opts: { identityEncoding: boolean; dropCacheControls: boolean }): Headers {
  const out = new Headers();
  src.forEach((value, name) => {
    if (HOP_BY_HOP.has(name) || (opts.dropCacheControls && OWN.test(name))) return;
    out.set(name, value);
  });
  dropListedInConnection(src, out);
  // Reprise must read the bodies it caches, so it asks for them uncompressed.
  if (opts.identityEncoding) out.set('accept-encoding', 'identity');
  return out;
}

/** Upstream → client. */
export function responseHeadersForClient(src: Headers): Headers {
  const out = new Headers();
  src.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) out.append(name, value);
  });
  dropListedInConnection(src, out);
  return out;
}
