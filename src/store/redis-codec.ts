/**
 * @module store/redis-codec: how entries and their events are laid out in Redis. One hash per entry, with the vector
 * packed as little-endian float32 bytes (not JSON text), and a key whose `{scope}` hash tag keeps it in its scope's
 * cluster slot; one stream of put/del/purge events, written by the store and read by every replica's mirror.
 */
import type { Endpoint } from './types.js';
import type { Entry, PurgeFilter } from './types.js';

/** `<prefix>:{<scope>}:<textKey>`: every key of one entry (there is one) in one hash slot. */
export function entryKey(prefix: string, scope: string, textKey: string): string {
  return `${prefix}:{${scope}}:${textKey}`;
}

/** The SCAN MATCH pattern of every entry key under `prefix` (and of nothing else, such as the stream). */
export function entryKeyPattern(prefix: string): string {
  return `${prefix}:{*}:*`;
}

/** The stream of events that keeps replicas' mirrors current. */
export function eventStreamKey(prefix: string): string {
  return `${prefix}:events`;
}

/** Copy a vector's bytes (little-endian, as every platform Reprise runs on). */
export function packVector(v: Float32Array): Buffer {
  return Buffer.from(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

export function unpackVector(b: Buffer): Float32Array {
  // Copy into an aligned buffer: a Buffer's offset in its pool need not be a multiple of 4.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** The fields of an entry's hash. */
export function encodeEntry(e: Entry): Record<string, string | Buffer> {
  return {
    scope: e.scope,
    textKey: e.textKey,
    text: e.text,
    response: JSON.stringify(e.response),
    endpoint: e.endpoint,
    model: e.model,
    tenant: e.tenant,
    namespace: e.namespace,
    createdAt: String(e.createdAt),
    expiresAt: String(e.expiresAt),
    ...(e.vector && { vector: packVector(e.vector) }),
  };
}

/** Decode HGETALL output (as Buffers); undefined for a missing or malformed hash. */
export function decodeEntry(id: string, h: Record<string, Buffer>): Entry | undefined {
  const s = (k: string) => h[k]?.toString('utf8');
  const scope = s('scope');
  const textKey = s('textKey');
  const response = s('response');
  if (!scope || !textKey || response === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response);
  } catch {
    return undefined;
  }
  return {
    id,
    scope,
    textKey,
    text: s('text') ?? '',
    ...(h.vector && { vector: unpackVector(h.vector) }),
    response: parsed,
    endpoint: (s('endpoint') ?? 'chat') as Endpoint,
    model: s('model') ?? '',
    tenant: s('tenant') ?? '',
    namespace: s('namespace') ?? '',
    createdAt: Number(s('createdAt') ?? 0),
    expiresAt: Number(s('expiresAt') ?? 0),
  };
}

/** What a put event carries: what a mirror keeps of an entry, without its text or response. */
export type EventEntry = Pick<Entry, 'id' | 'scope' | 'textKey' | 'tenant' | 'namespace' | 'model' | 'vector'>;

/** One change to the cache, as every replica hears of it. */
export type StoreEvent =
  | { op: 'put'; entry: EventEntry; ttlMs: number }
  | { op: 'del'; id: string }
  | { op: 'purge'; filter: PurgeFilter };

/** The field/value list of an XADD. */
export function encodeEvent(ev: StoreEvent): Array<string | Buffer> {
  switch (ev.op) {
    case 'put': {
      const e = ev.entry;
      return [
        'op', 'put', 'id', e.id, 'scope', e.scope, 'textKey', e.textKey, 'ttl', String(ev.ttlMs),
        'tenant', e.tenant, 'namespace', e.namespace, 'model', e.model,
        ...(e.vector ? ['vector', packVector(e.vector)] : []),
      ];
    }
    case 'del':
      return ['op', 'del', 'id', ev.id];
    case 'purge':
      // Only the fields given: an absent field matches everything, which an empty string would not.
      return ['op', 'purge', ...Object.entries(ev.filter).flatMap(([k, v]) => (v === undefined ? [] : [k, v]))];
  }
}

/** Decode one stream entry's fields (as Buffers); undefined for an op this version does not know. */
export function decodeEvent(fields: Buffer[]): StoreEvent | undefined {
  const f = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!.toString(), fields[i + 1]!);
  const s = (k: string) => f.get(k)?.toString();
  switch (s('op')) {
    case 'put': {
      const v = f.get('vector');
      const entry: EventEntry = {
        id: s('id')!,
        scope: s('scope')!,
        textKey: s('textKey')!,
        tenant: s('tenant') ?? '',
        namespace: s('namespace') ?? '',
        model: s('model') ?? '',
        ...(v && { vector: unpackVector(v) }),
      };
      return { op: 'put', entry, ttlMs: Number(s('ttl')) };
    }
    case 'del':
      return { op: 'del', id: s('id')! };
    case 'purge':
      return {
        op: 'purge',
        filter: {
          ...(f.has('tenant') && { tenant: s('tenant') }),
          ...(f.has('namespace') && { namespace: s('namespace') }),
          ...(f.has('model') && { model: s('model') }),
        },
      };
    default:
      return undefined;
  }
}
