/**
 * @module cache/hash: canonical JSON and SHA-256.
 * SHA-256 comes from @noble/hashes: synchronous and pure JS, so it runs on Node and Workers alike. Web Crypto's
 * digest is asynchronous, and its per-call job dispatch cost about a fifth of an exact hit's CPU time in profiles.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** Hex SHA-256 of a string followed by bytes (cache/raw-exact.ts BytesHash). Node injects node:crypto's, which is faster. */
export function sha256Bytes(prefix: string, bytes: Uint8Array): string {
  return bytesToHex(nobleSha256.create().update(utf8ToBytes(prefix)).update(bytes).digest());
}

/** Hex SHA-256 of a string. */
export function sha256(text: string): string {
  return bytesToHex(nobleSha256(utf8ToBytes(text)));
}
