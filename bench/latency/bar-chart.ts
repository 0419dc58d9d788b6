/** @module bench/latency/bar-chart: a dependency-free horizontal bar chart (bench/lib/svg.ts only draws lines). */

export interface Bar {
  label: string;
  value: number;
  /** text after the bar, e.g. "0.62× direct" */
  note?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * @param o.log log-scaled bars starting at 1 (for values that span decades, e.g. 5 to 10,000 req/s), with a grid
 * line per decade
 */
export function barChart(bars: Bar[], o: { title: string; unit: string; width?: number; log?: boolean }): string {
  const W = o.width ?? 760;
  const rowH = 28;
  const m = { l: 300, r: 190, t: 40, b: o.log ? 36 : 20 };
  const H = m.t + m.b + rowH * bars.length;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const decades = Math.max(1, Math.ceil(Math.log10(max)));
  const sx = o.log
    ? (v: number) => ((W - m.l - m.r) * Math.log10(Math.max(1, v))) / decades
    : (v: number) => ((W - m.l - m.r) * v) / max;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(o.title)}</text>`,
    `<line x1="${m.l}" y1="${m.t - 4}" x2="${m.l}" y2="${H - m.b + 4}" stroke="black"/>`,
  ];
  if (o.log) {
    for (let k = 0; k <= decades; k++) {
      const x = m.l + sx(10 ** k);
      parts.push(`<line x1="${x}" y1="${m.t - 4}" x2="${x}" y2="${H - m.b + 4}" stroke="#ddd"/>`);
      parts.push(`<text x="${x}" y="${H - m.b + 18}" text-anchor="middle" fill="#666">${(10 ** k).toLocaleString('en-US')}</text>`);
    }
    parts.push(`<text x="${m.l + (W - m.l - m.r) / 2}" y="${H - 4}" text-anchor="middle" fill="#666">${esc(o.unit)} (log scale)</text>`);
  }
  bars.forEach((b, i) => {
    const y = m.t + i * rowH;
    const w = Math.max(1, sx(b.value));
    parts.push(`<text x="${m.l - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${m.l}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="#1f77b4"/>`);
    const text = `${Math.round(b.value).toLocaleString('en-US')} ${o.unit}${b.note ? `  ${b.note}` : ''}`;
    parts.push(`<text x="${m.l + w + 6}" y="${y + rowH / 2 + 4}">${esc(text)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
