/** @module cache/policy: read a request's cache controls from Cache-Control and x-cache-* headers. */
import { InvalidRequestError } from '../openai/errors.js';
import type { HeaderSource } from './tenant.js';

/** What the caller allows for this request. */
export interface CachePolicy {
  /** may an entry be served? false for `no-cache`, `no-store`, `max-age=0` */
  read: boolean;
  /** may the answer be stored? false for `no-store` */
  write: boolean;
  /** serve only entries at most this many seconds old (`Cache-Control: max-age`) */
  maxAge?: number;
  /** seconds to keep the answer (`x-cache-ttl`) */
  ttl: number;
  /** similarity a semantic hit needs (`x-cache-threshold`); undefined = the default */
  threshold?: number;
  /** partition inside the tenant (`x-cache-namespace`) */
  namespace: string;
  /** why reading or writing is off, for the X-Cache-Reason header */
  reason?: 'no-store' | 'no-cache' | 'max-age=0';
}

const NAMESPACE = /^[A-Za-z0-9._:/-]{1,128}$/;

/** Parse the controls. Malformed values are a 400 that names the header: silently ignoring them would surprise. */
export function readPolicy(headers: HeaderSource, defaultTtl: number): CachePolicy {
  const directives = parseCacheControl(headers.get('cache-control'));
  const noStore = directives.has('no-store');
  const noCache = directives.has('no-cache');
  const maxAgeRaw = directives.get('max-age');
  const maxAge = directives.has('max-age') ? nonNegativeInt(maxAgeRaw ?? '', 'cache-control') : undefined;

  const ttlRaw = headers.get('x-cache-ttl') ?? null;
  const ttl = ttlRaw === null ? defaultTtl : nonNegativeInt(ttlRaw, 'x-cache-ttl');
  const thresholdRaw = headers.get('x-cache-threshold') ?? null;
  let threshold: number | undefined;
  if (thresholdRaw !== null) {
    threshold = Number(thresholdRaw);
    if (thresholdRaw.trim() === '' || !Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
      throw new InvalidRequestError(`Invalid x-cache-threshold header: expected a number from 0 to 1, got "${thresholdRaw}".`, 'x-cache-threshold');
    }
  }
  const namespace = headers.get('x-cache-namespace') ?? '';
  if (namespace !== '' && !NAMESPACE.test(namespace)) {
    throw new InvalidRequestError('Invalid x-cache-namespace header: use 1-128 characters from A-Z a-z 0-9 . _ : / -.', 'x-cache-namespace');
  }

  const reason = noStore ? 'no-store' : noCache ? 'no-cache' : maxAge === 0 ? 'max-age=0' : undefined;
  return {
    read: reason === undefined,
    write: !noStore && ttl > 0,
    ...(maxAge !== undefined && { maxAge }),
    ttl,
    ...(threshold !== undefined && { threshold }),
    namespace,
    ...(reason && { reason }),
  };
}

function parseCacheControl(value: string | null | undefined): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  if (!value) return out;
  for (const part of value.split(',')) {
    const [name, arg] = part.split('=', 2).map((s) => s.trim());
    if (name) out.set(name.toLowerCase(), arg?.replace(/^"|"$/g, ''));
  }
  return out;
}

function nonNegativeInt(raw: string, header: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidRequestError(`Invalid ${header} header: expected a whole number of seconds, got "${raw}".`, header);
  }
  return n;
}
