/**
 * @module calibrate: `reprise calibrate --pairs FILE.jsonl --target-precision 0.95` finds the threshold that reaches
 * a precision target on the operator's own labelled pairs ({"a","b","label"} per line, label 1 = same question),
 * through the same embedder and guards the proxy uses, and prints the recall it costs.
 */
import { readFileSync } from 'node:fs';
import { failedHardGuard } from './cache/verify.js';
import type { Embedder } from './embed/types.js';

export interface CalibrationRow {
  threshold: number;
  precision: number;
  recall: number;
  served: number;
}

export interface Calibration {
  embedder: string;
  pairs: number;
  positives: number;
  rows: CalibrationRow[];
  /** the lowest threshold whose precision reaches the target, if any */
  chosen?: CalibrationRow;
}

export function readPairs(file: string): Array<{ a: string; b: string; label: 0 | 1 }> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      const o = JSON.parse(l) as { a?: unknown; b?: unknown; label?: unknown };
      if (typeof o.a !== 'string' || typeof o.b !== 'string' || (o.label !== 0 && o.label !== 1)) {
        throw new Error(`${file}:${i + 1}: expected {"a": string, "b": string, "label": 0 or 1}`);
      }
      return { a: o.a, b: o.b, label: o.label };
    });
}

export async function calibrate(pairs: Array<{ a: string; b: string; label: 0 | 1 }>, embedder: Embedder, target: number): Promise<Calibration> {
  const texts = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const vectors = new Map<string, Float32Array>();
  for (let i = 0; i < texts.length; i += 64) {
    const batch = texts.slice(i, i + 64);
    (await embedder.embed(batch)).forEach((v, j) => vectors.set(batch[j]!, v));
  }
  const scored = pairs.map((p) => {
    const a = vectors.get(p.a)!;
    const b = vectors.get(p.b)!;
    let dot = 0;
    for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
    return { label: p.label, cosine: dot, guarded: failedHardGuard(p.b, p.a) !== undefined };
  });
  const positives = pairs.filter((p) => p.label === 1).length;
  const rows: CalibrationRow[] = [];
  for (let t = 0.5; t <= 0.995; t += 0.01) {
    const served = scored.filter((s) => s.cosine >= t && !s.guarded);
    const right = served.filter((s) => s.label === 1).length;
    rows.push({ threshold: Math.round(t * 100) / 100, precision: served.length ? right / served.length : 1, recall: positives ? right / positives : 0, served: served.length });
  }
  const chosen = rows.find((r) => r.served > 0 && r.precision >= target);
  return { embedder: embedder.id, pairs: pairs.length, positives, rows, ...(chosen && { chosen }) };
}

export function formatCalibration(c: Calibration, target: number): string {
  const lines = [`embedder ${c.embedder}: ${c.pairs} pairs, ${c.positives} labelled the same`, '', 'threshold  precision  recall  served'];
  for (const r of c.rows.filter((_, i) => i % 2 === 0)) {
    lines.push(`${r.threshold.toFixed(2).padStart(9)}  ${r.precision.toFixed(3).padStart(9)}  ${r.recall.toFixed(3).padStart(6)}  ${String(r.served).padStart(6)}`);
  }
  lines.push('');
  if (c.chosen) {
    lines.push(
      `precision ${target} is reached at threshold ${c.chosen.threshold} (precision ${c.chosen.precision.toFixed(3)}, recall ${c.chosen.recall.toFixed(3)}).`,
      `run with: --threshold ${c.chosen.threshold}   (or CACHE_THRESHOLD=${c.chosen.threshold})`,
    );
  } else {
    lines.push(`precision ${target} is not reached at any threshold on these pairs; the best is ${Math.max(...c.rows.filter((r) => r.served > 0).map((r) => r.precision)).toFixed(3)}.`);
  }
  return lines.join('\n');
}
