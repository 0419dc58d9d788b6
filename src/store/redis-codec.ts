/**
 * @module store/redis-codec: how an entry is laid out in Redis. One hash per entry, with the vector packed as
 * little-endian float32 bytes (not JSON text), and a key whose `{scope}` hash tag keeps it in its scope's cluster slot.
 */
import type { Endpoint } from '../openai/request.js';
import type { Entry } from './types.js';

/** `<prefix>:{<scope>}:<textKey>`: every key of one entry (there is one) in one hash slot. */
export function entryKey(prefix: string, scope: string, textKey: string): string {
  return `${prefix}:{${scope}}:${textKey}`;
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
