/** A dependency-free SVG line chart, enough for precision/recall curves and latency-vs-size plots. */
import { mkdirSync, writeFileSync } from 'node:fs';

export interface Series {
  label: string;
  points: Array<[number, number]>;
}

export interface ChartOptions {
  title: string;
  x: { label: string; min?: number; max?: number; log?: boolean };
  y: { label: string; min?: number; max?: number; log?: boolean };
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

export function lineChart(series: Series[], o: ChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 400;
  const m = { l: 60, r: 20, t: 40, b: 50 };
  const all = series.flatMap((s) => s.points);
  const tx = (v: number) => (o.x.log ? Math.log10(v) : v);
  const ty = (v: number) => (o.y.log ? Math.log10(v) : v);
  const xmin = o.x.min ?? Math.min(...all.map((p) => p[0]));
  const xmax = o.x.max ?? Math.max(...all.map((p) => p[0]));
  const ymin = o.y.min ?? Math.min(...all.map((p) => p[1]));
  const ymax = o.y.max ?? Math.max(...all.map((p) => p[1]));
  const sx = (v: number) => m.l + ((tx(v) - tx(xmin)) / (tx(xmax) - tx(xmin) || 1)) * (W - m.l - m.r);
  const sy = (v: number) => H - m.b - ((ty(v) - ty(ymin)) / (ty(ymax) - ty(ymin) || 1)) * (H - m.t - m.b);
  const ticks = (min: number, max: number, log?: boolean) =>
    log
      ? Array.from({ length: Math.floor(Math.log10(max)) - Math.ceil(Math.log10(min)) + 1 }, (_, i) => 10 ** (Math.ceil(Math.log10(min)) + i))
      : Array.from({ length: 6 }, (_, i) => min + ((max - min) * i) / 5);
  const f = (v: number) => (Math.abs(v) >= 1000 ? v.toExponential(0) : Number(v.toPrecision(3)).toString());
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${o.title}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${W / 2}" y="${H - 10}" text-anchor="middle">${o.x.label}</text>`,
    `<text x="15" y="${H / 2}" text-anchor="middle" transform="rotate(-90 15 ${H / 2})">${o.y.label}</text>`,
  ];
  for (const v of ticks(xmin, xmax, o.x.log)) parts.push(`<text x="${sx(v)}" y="${H - m.b + 16}" text-anchor="middle">${f(v)}</text>`);
  for (const v of ticks(ymin, ymax, o.y.log)) {
    parts.push(`<text x="${m.l - 6}" y="${sy(v) + 4}" text-anchor="end">${f(v)}</text>`);
    parts.push(`<line x1="${m.l}" y1="${sy(v)}" x2="${W - m.r}" y2="${sy(v)}" stroke="#eee"/>`);
  }
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/>`);
    parts.push(`<text x="${W - m.r - 150}" y="${m.t + 16 * (i + 1)}" fill="${c}">${s.label}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function writeChart(name: string, svg: string): string {
  mkdirSync('bench/results', { recursive: true });
  const path = `bench/results/${name}.svg`;
  writeFileSync(path, svg);
  return path;
}
