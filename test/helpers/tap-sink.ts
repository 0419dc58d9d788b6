/** @module test/helpers/tap-sink: what a front would write for a single-flight joiner's tap: its chunks, and how it ended. */
import type { Tap } from '../../src/cache/single-flight.js';

const dec = new TextDecoder();

export function sinkFor(tap: Tap) {
  const chunks: Uint8Array[] = [];
  let ended: 'end' | { error: unknown } | undefined;
  const done = new Promise<void>((resolve) =>
    tap.attach({
      chunk: (b) => chunks.push(b),
      end: () => {
        ended = 'end';
        resolve();
      },
      error: (e) => {
        ended = { error: e };
        resolve();
      },
    }),
  );
  return {
    chunks,
    text: () => chunks.map((c) => dec.decode(c, { stream: true })).join('') + dec.decode(),
    ended: () => ended,
    done,
  };
}
