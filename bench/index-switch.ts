/**
 * Where should a scope's index switch from exact scan to HNSW? Measures search latency of FlatIndex and HnswIndex
 * (usearch) at growing sizes, in the same run, and prints the ratio. Run: npx tsx bench/index-switch.ts
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { FlatIndex } from '../src/store/flat-index.js';
import { HnswIndex } from '../src/store/hnsw-index.js';

function rand(dim: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    v[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
    n += v[i]! * v[i]!;
  }
  for (let i = 0; i < dim; i++) v[i]! /= Math.sqrt(n);
  return v;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const rows: Array<Record<string, number>> = [];
for (const dim of [384, 512]) {
  for (const n of [256, 512, 1024, 2048, 4096, 8192]) {
    const flat = new FlatIndex(dim);
    const hnsw = new HnswIndex(dim);
    for (let i = 0; i < n; i++) {
      const v = rand(dim, i + 1);
      flat.add(i, v);
      hnsw.add(i, v);
    }
    const queries = Array.from({ length: 300 }, (_, i) => rand(dim, 1_000_000 + i));
    const time = (idx: { search(v: Float32Array, k: number): unknown }) => {
      for (const q of queries.slice(0, 30)) idx.search(q, 4); // warm-up
      return queries.map((q) => {
        const t = performance.now();
        idx.search(q, 4);
        return (performance.now() - t) * 1000;
      });
    };
    const f = time(flat);
    const h = time(hnsw);
    const row = {
      dim, n,
      flat_p50_us: pct(f, 50), flat_p99_us: pct(f, 99), hnsw_p50_us: pct(h, 50), hnsw_p99_us: pct(h, 99),
      flat_over_hnsw_p50: pct(f, 50) / pct(h, 50),
    };
    rows.push(row);
    console.log(Object.entries(row).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`).join('  '));
  }
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/index-switch.json', JSON.stringify({ machine: `${process.platform} ${process.arch}, node ${process.version}`, rows }, null, 2));
