/** @module http/bytes: byte-array helpers the runtimes share. */

/** `parts` as one array of `size` bytes (the sum of their lengths); one part is returned as it is. */
export function concatBytes(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
