// The table's two plots, as standalone SVG (every colour and font written into the element, so
// the SVG export is the picture): a metric against a parameter, with the log-linear fit
// acc ≈ a + b·ln(DoF) of each method whose DoF varies, and parallel coordinates over runs.
import { fitLogLinear, LogFit } from '../../../src/core/sweep/fit';
import type { CompareRow, RunMethod } from '../../../src/webview-contract';
import { svg } from '../shared/dom';
import { Axis, ColumnDef, ColumnId, formatAggregate, formatValue, makeAxis, METHOD_LABEL, METHODS, ViewRow, wantsLog } from './model';

export interface PlotLook {
  readonly fg: string;
  readonly muted: string;
  readonly grid: string;
  readonly bg: string;
  readonly font: string;
  readonly colors: Readonly<Record<RunMethod, string>>;
}

export interface ScatterInput {
  readonly rows: readonly ViewRow[];
  readonly x: ColumnDef;
  readonly y: ColumnDef;
  readonly logX: 'auto' | 'on' | 'off';
  readonly logY: 'auto' | 'on' | 'off';
  readonly selected: ReadonlySet<string>;
  readonly width: number;
  readonly height: number;
  readonly look: PlotLook;
}

export interface FitLine {
  readonly method: RunMethod;
  readonly fit: LogFit;
  readonly xMin: number;
  readonly xMax: number;
}

export interface PlottedPoint {
  readonly row: ViewRow;
  readonly x: number;
  readonly y: number;
  /** Aggregated rows: the std of y over seeds. */
  readonly yStd?: number;
}

export interface ScatterResult {
  readonly element: SVGSVGElement;
  readonly points: readonly PlottedPoint[];
  readonly fits: readonly FitLine[];
  readonly logX: boolean;
  readonly logY: boolean;
}

const MARGIN = { left: 64, right: 16, top: 16, bottom: 44 };
/** Parameters a log-linear law is stated in, and metrics it is about. */
const DOF_COLUMNS: readonly ColumnId[] = ['dof', 'ringSize', 'totalParams'];

const methodOf = (r: ViewRow): RunMethod => r.runs[0]!.method;

function tickLabel(c: ColumnDef, v: number, axis: Axis): string {
  if (c.percent) return `${(v * 100).toFixed(axis.max - axis.min < 0.05 ? 1 : 0)}%`;
  if (axis.log || Math.abs(v) >= 1000) return v >= 1e6 ? `${Number((v / 1e6).toPrecision(3))}M` : v >= 1e3 ? `${Number((v / 1e3).toPrecision(3))}k` : v < 0.01 ? v.toExponential(0) : String(Number(v.toPrecision(3)));
  return String(Number(v.toPrecision(4)));
}

/** The log-linear fit of each method's runs, where its DoF takes at least two values. */
export function methodFits(rows: readonly ViewRow[], x: ColumnId, y: ColumnId): FitLine[] {
  if (!DOF_COLUMNS.includes(x)) return [];
  const fits: FitLine[] = [];
  for (const method of METHODS) {
    const runs: CompareRow[] = rows.filter((r) => methodOf(r) === method).flatMap((r) => [...r.runs]);
    const pts = runs.map((r) => ({ dof: r[x] as number, acc: r[y] as number })).filter((p) => Number.isFinite(p.dof) && p.dof > 0 && Number.isFinite(p.acc));
    if (new Set(pts.map((p) => p.dof)).size < 2) continue;
    const fit = fitLogLinear(pts);
    if (fit) fits.push({ method, fit, xMin: Math.min(...pts.map((p) => p.dof)), xMax: Math.max(...pts.map((p) => p.dof)) });
  }
  return fits;
}

function frame(width: number, height: number, look: PlotLook, label: string): SVGSVGElement {
  const el = svg('svg', { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, 'font-family': look.font, 'font-size': 11 });
  el.append(svg('rect', { width, height, fill: look.bg }));
  return el;
}

export function scatterPlot(input: ScatterInput): ScatterResult {
  const { x, y, look, width, height } = input;
  const points: PlottedPoint[] = [];
  for (const row of input.rows) {
    const xv = row.value(x.id);
    const yv = row.value(y.id);
    if (typeof xv !== 'number' || typeof yv !== 'number' || !Number.isFinite(xv) || !Number.isFinite(yv)) continue;
    const a = row.aggregates?.get(y.id);
    points.push({ row, x: xv, y: yv, ...(a && a.n > 1 ? { yStd: a.std } : {}) });
  }
  const logX = wantsLog(points.map((p) => p.x), input.logX, x.logFriendly);
  const logY = wantsLog(points.map((p) => p.y), input.logY, y.logFriendly);
  const shown = logX || logY ? points.filter((p) => (!logX || p.x > 0) && (!logY || p.y > 0)) : points;
  const fits = y.numeric ? methodFits(input.rows, x.id, y.id) : [];
  const yValues = shown.flatMap((p) => (p.yStd ? [p.y - p.yStd, p.y + p.yStd] : [p.y]));
  const ax = makeAxis(shown.map((p) => p.x), logX);
  const ay = makeAxis(yValues, logY, 5);
  const el = frame(width, height, look, `${y.label} against ${x.label}: ${shown.length} points${fits.length ? `, ${fits.length} log-linear fit(s)` : ''}`);
  const L = MARGIN.left;
  const R = width - MARGIN.right;
  const T = MARGIN.top;
  const B = height - MARGIN.bottom;
  const sx = (v: number) => L + ax.at(v) * (R - L);
  const sy = (v: number) => B - ay.at(v) * (B - T);
  const grid = svg('g', { stroke: look.grid, 'stroke-width': 1 });
  const labels = svg('g', { fill: look.muted });
  for (const t of ax.ticks) {
    grid.append(svg('line', { x1: sx(t).toFixed(1), x2: sx(t).toFixed(1), y1: T, y2: B }));
    labels.append(svg('text', { x: sx(t).toFixed(1), y: B + 14, 'text-anchor': 'middle' }, tickLabel(x, t, ax)));
  }
  for (const t of ay.ticks) {
    grid.append(svg('line', { x1: L, x2: R, y1: sy(t).toFixed(1), y2: sy(t).toFixed(1) }));
    labels.append(svg('text', { x: L - 6, y: (sy(t) + 4).toFixed(1), 'text-anchor': 'end' }, tickLabel(y, t, ay)));
  }
  el.append(grid, labels);
  el.append(svg('line', { x1: L, x2: R, y1: B, y2: B, stroke: look.muted }), svg('line', { x1: L, x2: L, y1: T, y2: B, stroke: look.muted }));
  el.append(svg('text', { x: (L + R) / 2, y: height - 8, 'text-anchor': 'middle', fill: look.fg }, `${x.label}${logX ? ' (log)' : ''}`));
  el.append(svg('text', { x: 14, y: (T + B) / 2, 'text-anchor': 'middle', fill: look.fg, transform: `rotate(-90 14 ${(T + B) / 2})` }, `${y.label}${logY ? ' (log)' : ''}`));

  // The plain model's mean as a reference line, where the y axis is a metric it has.
  const plain = points.filter((p) => methodOf(p.row) === 'plain');
  if (plain.length && y.group === 'metric' && DOF_COLUMNS.includes(x.id)) {
    const mean = plain.reduce((s, p) => s + p.y, 0) / plain.length;
    if (!logY || mean > 0) el.append(svg('line', { class: 'reference', x1: L, x2: R, y1: sy(mean).toFixed(1), y2: sy(mean).toFixed(1), stroke: look.colors.plain, 'stroke-dasharray': '6 4', 'stroke-width': 1 }, svg('title', {}, `plain model: ${formatValue(y, mean)}`)));
  }
  for (const f of fits) {
    const pts: string[] = [];
    for (let i = 0; i <= 48; i++) {
      const t = i / 48;
      const xv = logX ? Math.exp(Math.log(f.xMin) + t * (Math.log(f.xMax) - Math.log(f.xMin))) : f.xMin + t * (f.xMax - f.xMin);
      const yv = f.fit.a + f.fit.b * Math.log(xv);
      if (logY && yv <= 0) continue;
      pts.push(`${sx(xv).toFixed(1)},${sy(yv).toFixed(1)}`);
    }
    el.append(svg('polyline', { class: `fit fit-${f.method}`, points: pts.join(' '), fill: 'none', stroke: look.colors[f.method], 'stroke-width': f.method === 'rpg' ? 2 : 1.5, ...(f.method === 'rpg' ? {} : { 'stroke-dasharray': '5 3' }) }, svg('title', {}, `${METHOD_LABEL[f.method]} fit: ${fitText(f.fit, x.id)}`)));
  }
  // Error bars under the points; selected points last, on top.
  const ordered = [...shown].sort((a, b) => Number(isSelected(a.row, input.selected)) - Number(isSelected(b.row, input.selected)));
  for (const p of ordered) {
    if (!p.yStd) continue;
    const lo = logY ? Math.max(ay.min, p.y - p.yStd) : p.y - p.yStd;
    el.append(svg('line', { class: 'error-bar', x1: sx(p.x).toFixed(1), x2: sx(p.x).toFixed(1), y1: sy(lo).toFixed(1), y2: sy(p.y + p.yStd).toFixed(1), stroke: look.colors[methodOf(p.row)], 'stroke-width': 1.5 }));
  }
  for (const p of ordered) {
    const m = methodOf(p.row);
    const sel = isSelected(p.row, input.selected);
    const r = sel ? 5.5 : 4;
    const cx = sx(p.x);
    const cy = sy(p.y);
    const common = { class: `point${sel ? ' selected' : ''}`, 'data-key': p.row.key, fill: look.colors[m], ...(sel ? { stroke: look.fg, 'stroke-width': 2 } : { stroke: look.bg, 'stroke-width': 0.5 }) };
    const title = svg('title', {}, pointTitle(p, x, y));
    // RPG round, baselines square: the shape tells the methods apart without colour too.
    el.append(m === 'rpg' ? svg('circle', { ...common, cx: cx.toFixed(1), cy: cy.toFixed(1), r }, title) : svg('rect', { ...common, x: (cx - r).toFixed(1), y: (cy - r).toFixed(1), width: 2 * r, height: 2 * r }, title));
  }
  return { element: el, points: shown, fits, logX, logY };
}

function isSelected(row: ViewRow, selected: ReadonlySet<string>): boolean {
  return row.runs.some((r) => selected.has(r.runDir));
}

function pointTitle(p: PlottedPoint, x: ColumnDef, y: ColumnDef): string {
  const r = p.row;
  const who = r.runs.length > 1 ? `${r.runs[0]!.name} (${r.runs.length} seeds)` : `${r.runs[0]!.name} · ${r.runs[0]!.runId}`;
  const yText = r.aggregates?.get(y.id) ? formatAggregate(y, r.aggregates.get(y.id)!) : formatValue(y, p.y);
  return `${who}\n${METHOD_LABEL[methodOf(r)]}\n${x.label}: ${formatValue(x, p.x)}\n${y.label}: ${yText}`;
}

/** "75.30% + 2.36%·ln M (R² 0.883)" for an accuracy; plain numbers otherwise. */
export function fitText(fit: Pick<LogFit, 'a' | 'b' | 'r2'>, x: ColumnId): string {
  const sym = x === 'ringSize' ? 'M' : x === 'totalParams' ? 'params' : 'DoF';
  const pct = Math.abs(fit.a) <= 2 && Math.abs(fit.b) <= 1;
  const a = pct ? `${(fit.a * 100).toFixed(2)}%` : fit.a.toPrecision(4);
  const b = pct ? `${(Math.abs(fit.b) * 100).toFixed(2)}%` : Math.abs(fit.b).toPrecision(4);
  return `${a} ${fit.b < 0 ? '−' : '+'} ${b}·ln ${sym} (R² ${fit.r2.toFixed(3)})`;
}

// ── parallel coordinates ────────────────────────────────────────────────────────────────────
export interface ParallelInput {
  readonly rows: readonly ViewRow[];
  readonly axes: readonly ColumnDef[];
  readonly width: number;
  readonly height: number;
  readonly look: PlotLook;
}

export interface ParallelAxis {
  readonly column: ColumnDef;
  readonly log: boolean;
  /** Text columns: their values, evenly spaced. */
  readonly categories?: readonly string[];
  /** Numeric columns: the scale. */
  readonly axis?: Axis;
  position(v: number | string | undefined): number | undefined;
}

export function parallelAxes(rows: readonly ViewRow[], axes: readonly ColumnDef[]): ParallelAxis[] {
  return axes.map((c) => {
    if (!c.numeric) {
      const categories = [...new Set(rows.map((r) => r.value(c.id)).filter((v): v is string => typeof v === 'string' && v !== ''))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      return { column: c, log: false, categories, position: (v) => (typeof v === 'string' && categories.includes(v) ? (categories.length === 1 ? 0.5 : categories.indexOf(v) / (categories.length - 1)) : undefined) };
    }
    const values = rows.map((r) => r.value(c.id)).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const log = wantsLog(values, 'auto', c.logFriendly);
    const axis = makeAxis(values, log, 5);
    return { column: c, log, axis, position: (v) => (typeof v === 'number' && Number.isFinite(v) && (!log || v > 0) ? axis.at(v) : undefined) };
  });
}

export function parallelPlot(input: ParallelInput): SVGSVGElement {
  const { look, width, height } = input;
  const axes = parallelAxes(input.rows, input.axes);
  const el = frame(width, height, look, `parallel coordinates of ${input.rows.length} runs over ${axes.map((a) => a.column.label).join(', ')}`);
  const L = 40;
  const R = width - 40;
  const T = 28;
  const B = height - 24;
  const xAt = (i: number) => (axes.length === 1 ? (L + R) / 2 : L + (i * (R - L)) / (axes.length - 1));
  const yAt = (t: number) => B - t * (B - T);
  const lines = svg('g', { fill: 'none', 'stroke-width': 1.4, 'stroke-opacity': input.rows.length > 200 ? 0.35 : 0.8 });
  for (const row of input.rows) {
    const m = methodOf(row);
    let d = '';
    let pen = false;
    axes.forEach((a, i) => {
      const t = a.position(row.value(a.column.id));
      if (t === undefined) {
        pen = false; // a missing value breaks the line rather than inventing one
        return;
      }
      d += `${pen ? 'L' : 'M'}${xAt(i).toFixed(1)},${yAt(t).toFixed(1)}`;
      pen = true;
    });
    if (d) lines.append(svg('path', { class: 'pc-line', d, stroke: look.colors[m], 'data-key': row.key }, svg('title', {}, `${row.runs[0]!.name}${row.runs.length > 1 ? ` (${row.runs.length} seeds)` : ` · ${row.runs[0]!.runId}`}`)));
  }
  el.append(lines);
  axes.forEach((a, i) => {
    const x = xAt(i);
    const g = svg('g', { class: 'pc-axis' });
    g.append(svg('line', { x1: x, x2: x, y1: T, y2: B, stroke: look.muted, 'stroke-width': 1 }));
    g.append(svg('text', { x, y: T - 12, 'text-anchor': 'middle', fill: look.fg, 'font-weight': 600 }, `${a.column.label}${a.log ? ' (log)' : ''}`));
    const scale = a.axis;
    const ticks: [number, string][] = a.categories ? a.categories.map((c) => [a.position(c)!, c]) : scale ? scale.ticks.map((t) => [scale.at(t), tickLabel(a.column, t, scale)]) : [];
    for (const [t, label] of ticks.filter(([t]) => t >= -1e-9 && t <= 1 + 1e-9)) {
      g.append(svg('line', { x1: x - 3, x2: x + 3, y1: yAt(t).toFixed(1), y2: yAt(t).toFixed(1), stroke: look.muted }));
      g.append(svg('text', { x: x + 5, y: (yAt(t) + 3).toFixed(1), fill: look.muted, 'font-size': 10, stroke: look.bg, 'stroke-width': 3, 'paint-order': 'stroke' }, label));
    }
    el.append(g);
  });
  return el;
}
