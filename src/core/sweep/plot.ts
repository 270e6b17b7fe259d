// Accuracy vs log DoF as text (for the terminal) and as a small standalone SVG.
import type { LogFit } from './fit';

export interface PlotPoint {
  readonly dof: number;
  readonly acc: number;
  readonly kind: 'rpg' | 'width' | 'subspace' | 'hashed';
}

export interface PlotInput {
  readonly title: string;
  readonly points: readonly PlotPoint[];
  readonly fit?: Pick<LogFit, 'a' | 'b'>;
  /** The plain model's accuracy (drawn as a horizontal line). */
  readonly reference?: number;
}

const MARK: Record<PlotPoint['kind'], string> = { rpg: '●', width: 'w', subspace: 's', hashed: 'h' };

function ranges(input: PlotInput): { x0: number; x1: number; y0: number; y1: number } {
  const lx = input.points.map((p) => Math.log10(p.dof));
  const ys = input.points.map((p) => p.acc).concat(input.reference !== undefined ? [input.reference] : []);
  let x0 = Math.min(...lx);
  let x1 = Math.max(...lx);
  if (!(x1 > x0)) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  const pad = Math.max(0.01, (y1 - y0) * 0.08);
  y0 = Math.max(0, y0 - pad);
  y1 = Math.min(1, y1 + pad);
  if (!(y1 > y0)) [y0, y1] = [Math.max(0, y0 - 0.05), Math.min(1, y1 + 0.05)];
  return { x0, x1, y0, y1 };
}

/** A character plot: y = accuracy (%), x = DoF on a log axis; ● RPG, w width, s subspace, h hashed, · fit, ─ plain. */
export function textPlot(input: PlotInput, width = 64, height = 16): string {
  if (!input.points.length) return `${input.title}: no points`;
  const { x0, x1, y0, y1 } = ranges(input);
  const grid: string[][] = Array.from({ length: height }, () => Array.from({ length: width }, () => ' '));
  const col = (lx: number) => Math.round(((lx - x0) / (x1 - x0)) * (width - 1));
  const row = (y: number) => height - 1 - Math.round(((y - y0) / (y1 - y0)) * (height - 1));
  const put = (r: number, c: number, ch: string) => {
    if (r >= 0 && r < height && c >= 0 && c < width) grid[r]![c] = ch;
  };
  if (input.reference !== undefined) for (let c = 0; c < width; c++) put(row(input.reference), c, '─');
  if (input.fit) {
    for (let c = 0; c < width; c++) {
      const lx = x0 + ((x1 - x0) * c) / (width - 1);
      put(row(input.fit.a + input.fit.b * Math.log(Math.pow(10, lx))), c, '·');
    }
  }
  // RPG last: where marks share a cell, the main series stays visible.
  const order = [...input.points].sort((a, b) => Number(a.kind === 'rpg') - Number(b.kind === 'rpg'));
  for (const p of order) put(row(p.acc), col(Math.log10(p.dof)), MARK[p.kind]);
  const label = (r: number) => {
    const y = y1 - ((y1 - y0) * r) / (height - 1);
    return r === 0 || r === height - 1 || r === Math.floor(height / 2) ? `${(y * 100).toFixed(1)}%`.padStart(7) : ''.padStart(7);
  };
  const lines = grid.map((cells, r) => `${label(r)} │${cells.join('')}`);
  const axis = `${''.padStart(7)} └${'─'.repeat(width)}`;
  const lo = fmtDof(Math.pow(10, x0));
  const hi = fmtDof(Math.pow(10, x1));
  const ticks = `${''.padStart(9)}${lo}${'DoF (log scale)'.padStart(Math.floor(width / 2) - lo.length + 7)}${hi.padStart(width - Math.floor(width / 2) - 7)}`;
  const shown = new Set(input.points.map((p) => p.kind));
  const names: Record<Exclude<PlotPoint['kind'], 'rpg'>, string> = { width: 'w width baseline', subspace: 's subspace baseline', hashed: 'h HashedNets baseline' };
  const baselines = (['width', 'subspace', 'hashed'] as const).filter((k) => shown.has(k)).map((k) => `  ${names[k]}`).join('');
  const legend = `${''.padStart(9)}● RPG${baselines}  · fit${input.reference !== undefined ? '  ─ plain model' : ''}`;
  return [input.title, ...lines, axis, ticks, legend].join('\n');
}

function fmtDof(d: number): string {
  return d >= 1e6 ? `${(d / 1e6).toPrecision(3)}M` : d >= 1e4 ? `${(d / 1e3).toPrecision(3)}k` : String(Math.round(d));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A self-contained SVG of the same plot (no scripts, no external references). */
export function svgPlot(input: PlotInput): string {
  const W = 640;
  const H = 400;
  const L = 64;
  const R = 20;
  const T = 40;
  const B = 56;
  const { x0, x1, y0, y1 } = input.points.length ? ranges(input) : { x0: 0, x1: 1, y0: 0, y1: 1 };
  const sx = (lx: number) => L + ((lx - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(input.title)}</text>`);
  // Axes and grid: decades on x, 5 ticks on y.
  parts.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`);
  for (let d = Math.ceil(x0 * 2) / 2; d <= x1 + 1e-9; d += 0.5) {
    const x = sx(d).toFixed(1);
    parts.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${H - B}" stroke="#eee"/><text x="${x}" y="${H - B + 16}" text-anchor="middle">${fmtDof(Math.pow(10, d))}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    parts.push(`<line x1="${L}" y1="${sy(y).toFixed(1)}" x2="${W - R}" y2="${sy(y).toFixed(1)}" stroke="#eee"/><text x="${L - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end">${(y * 100).toFixed(1)}%</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 14}" text-anchor="middle">degrees of freedom (ring size M, log scale)</text>`);
  parts.push(`<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">test accuracy</text>`);
  if (input.reference !== undefined) {
    parts.push(`<line x1="${L}" y1="${sy(input.reference).toFixed(1)}" x2="${W - R}" y2="${sy(input.reference).toFixed(1)}" stroke="#888" stroke-dasharray="6 4"/>`);
  }
  if (input.fit) {
    const pts: string[] = [];
    for (let i = 0; i <= 50; i++) {
      const lx = x0 + ((x1 - x0) * i) / 50;
      const y = input.fit.a + input.fit.b * Math.log(Math.pow(10, lx));
      pts.push(`${sx(lx).toFixed(1)},${sy(Math.max(y0, Math.min(y1, y))).toFixed(1)}`);
    }
    parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`);
  }
  const color: Record<PlotPoint['kind'], string> = { rpg: '#1f77b4', width: '#d62728', subspace: '#2ca02c', hashed: '#ff7f0e' };
  for (const p of input.points) {
    const x = sx(Math.log10(p.dof)).toFixed(1);
    const y = sy(p.acc).toFixed(1);
    parts.push(p.kind === 'rpg' ? `<circle cx="${x}" cy="${y}" r="4" fill="${color.rpg}"/>` : `<rect x="${(+x - 4).toFixed(1)}" y="${(+y - 4).toFixed(1)}" width="8" height="8" fill="${color[p.kind]}"/>`);
  }
  const kinds = [...new Set(input.points.map((p) => p.kind))];
  const legend = [...kinds.map((k) => [color[k], k === 'rpg' ? 'RPG' : k === 'width' ? 'width-scaled plain' : k === 'subspace' ? 'random subspace' : 'HashedNets']), ...(input.reference !== undefined ? [['#888', 'plain model']] : [])];
  legend.forEach(([c, label], i) => parts.push(`<rect x="${L + 10}" y="${T + 6 + i * 16}" width="10" height="10" fill="${c}"/><text x="${L + 26}" y="${T + 15 + i * 16}">${esc(label!)}</text>`));
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
