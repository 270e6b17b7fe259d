// Pure data transforms of the training-curves panel: smoothing, aligning runs on one x axis
// (uPlot plots columns sharing one x array), the DoF-vs-accuracy fit, and CSV export.
import { fitLogLinear, LogFit } from '../../../src/core/sweep/fit';
import type { EvalColumns, RunInfo, RunSeries, TrainColumns, XAxis } from '../../../src/webview-contract';

export type Column = (number | null)[];

/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not pulled
 * towards 0). weight 0 = raw, 0.99 = very smooth. Nulls and non-finite values pass through.
 */
export function emaSmooth(values: readonly (number | null)[], weight: number): Column {
  if (weight <= 0) return values.slice();
  const w = Math.min(0.999, weight);
  let last = 0;
  let wn = 1; // w^n, kept as a running product (no pow per point)
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return v ?? null;
    last = last * w + (1 - w) * v;
    wn *= w;
    return last / (1 - wn);
  });
}

export interface XYTable {
  readonly x: readonly number[];
  readonly ys: readonly (readonly (number | null)[])[];
}

/** x sorted ascending with repeated x collapsed to the last row (a resumed run may repeat steps). */
export function sortedUnique(table: XYTable): { x: number[]; ys: Column[] } {
  const n = table.x.length;
  const order = Array.from({ length: n }, (_, i) => i);
  let sorted = true;
  for (let i = 1; i < n; i++) if (table.x[i]! < table.x[i - 1]!) { sorted = false; break; }
  if (!sorted) order.sort((a, b) => table.x[a]! - table.x[b]! || a - b);
  const keep: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (!Number.isFinite(table.x[i]!)) continue;
    if (keep.length && table.x[keep[keep.length - 1]!] === table.x[i]) keep[keep.length - 1] = i;
    else keep.push(i);
  }
  return { x: keep.map((i) => table.x[i]!), ys: table.ys.map((col) => keep.map((i) => col[i] ?? null)) };
}

/**
 * Tables on one shared, sorted x: [x, ...every table's columns], null where a table has no row
 * at that x. O(total rows) merge of already sorted inputs (what uPlot.join does, testable here).
 */
export function joinTables(tables: readonly XYTable[]): Column[] {
  const sorted = tables.map(sortedUnique);
  const xs: number[] = [];
  const pos = sorted.map(() => 0);
  for (;;) {
    let next = Infinity;
    for (let t = 0; t < sorted.length; t++) {
      const v = sorted[t]!.x[pos[t]!];
      if (v !== undefined && v < next) next = v;
    }
    if (next === Infinity) break;
    xs.push(next);
    for (let t = 0; t < sorted.length; t++) if (sorted[t]!.x[pos[t]!] === next) pos[t]!++;
  }
  const out: Column[] = [xs];
  for (const table of sorted) {
    const cols: Column[] = table.ys.map(() => new Array<number | null>(xs.length).fill(null));
    let j = 0;
    for (let i = 0; i < xs.length && j < table.x.length; i++) {
      if (table.x[j] === xs[i]) {
        for (let c = 0; c < cols.length; c++) cols[c]![i] = table.ys[c]![j] ?? null;
        j++;
      }
    }
    out.push(...cols);
  }
  return out;
}

export function xOf(cols: TrainColumns | EvalColumns, axis: XAxis): number[] {
  return axis === 'epoch' ? cols.epoch : axis === 'time' ? cols.time : cols.step;
}

export type Fit = LogFit;

/**
 * The sweep's least-squares fit acc ≈ a + b·ln(dof) (src/sweep/fit.ts, one implementation for
 * CLI, language server and panel); the panel draws it only from 3 runs on.
 */
export function logLinearFit(points: readonly { readonly dof: number; readonly acc: number }[]): Fit | undefined {
  return points.filter((p) => p.dof > 0 && Number.isFinite(p.acc)).length < 3 ? undefined : fitLogLinear(points);
}

/** "arch · dataset": runs comparable on the DoF-vs-accuracy view. */
export function comparableKey(info: Pick<RunInfo, 'arch' | 'dataset'>): string {
  return `${info.arch} · ${info.dataset}`;
}

/** Best accuracy of a run: run.json's bestAcc, else the best eval row. */
export interface RunLike {
  readonly info: RunInfo;
  readonly eval?: { readonly acc: readonly number[] };
}

export function bestAccuracy(s: RunLike): number | undefined {
  if (typeof s.info.bestAcc === 'number' && Number.isFinite(s.info.bestAcc)) return s.info.bestAcc;
  const accs = (s.eval?.acc ?? []).filter((v) => Number.isFinite(v));
  return accs.length ? Math.max(...accs) : undefined;
}

export interface DofPoint {
  readonly runDir: string;
  readonly label: string;
  readonly dof: number;
  readonly acc: number;
}

/** Points of the DoF view grouped by arch/dataset, best accuracy per run. */
export function dofGroups(series: readonly RunLike[]): Map<string, DofPoint[]> {
  const groups = new Map<string, DofPoint[]>();
  for (const s of series) {
    const acc = bestAccuracy(s);
    if (acc === undefined || !(s.info.dof > 0)) continue;
    const key = comparableKey(s.info);
    const list = groups.get(key) ?? [];
    list.push({ runDir: s.info.runDir, label: runLabel(s.info), dof: s.info.dof, acc });
    groups.set(key, list);
  }
  for (const list of groups.values()) list.sort((p, q) => p.dof - q.dof);
  return groups;
}

/** 21800000 → "21.8M", 4419 → "4.42k". */
export function compactNumber(v: number): string {
  const abs = Math.abs(v);
  const trim = (x: number): string => Number(x.toPrecision(3)).toString();
  if (abs >= 1e9) return `${trim(v / 1e9)}G`;
  if (abs >= 1e6) return `${trim(v / 1e6)}M`;
  if (abs >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}

/** Legend label: the run's name and its DoF. */
export function runLabel(info: Pick<RunInfo, 'name' | 'dof' | 'runId'>): string {
  return `${info.name} (${info.runId}) · DoF ${compactNumber(info.dof)}`;
}

function csvCell(v: string | number | undefined): string {
  if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const CSV_HEADER = ['run', 'runDir', 'name', 'arch', 'dataset', 'dof', 'split', 'step', 'epoch', 'loss', 'acc', 'lr', 'samplesPerSec', 'time'] as const;

/** Long-format CSV: one row per metric row, train and eval, every run. */
export function toCsv(series: readonly RunSeries[]): string {
  const lines = [CSV_HEADER.join(',')];
  for (const s of series) {
    const i = s.info;
    const head = [i.runId, i.runDir, i.name, i.arch, i.dataset, i.dof].map(csvCell).join(',');
    const t = s.train;
    for (let k = 0; k < t.step.length; k++) {
      lines.push(`${head},train,${[t.step[k], t.epoch[k], t.loss[k], t.acc[k], t.lr[k], t.samplesPerSec[k], t.time[k]].map(csvCell).join(',')}`);
    }
    const e = s.eval;
    for (let k = 0; k < e.step.length; k++) {
      lines.push(`${head},eval,${[e.step[k], e.epoch[k], e.loss[k], e.acc[k], undefined, undefined, e.time[k]].map(csvCell).join(',')}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Safe file stem from run names: "lenet5-mnist-10pct_vs_2" etc. */
export function exportName(series: readonly RunSeries[], ext: string): string {
  const names = [...new Set(series.map((s) => s.info.name))];
  const stem = (names.length === 0 ? 'training-curves' : names.length === 1 ? names[0]! : `${names[0]}-and-${names.length - 1}-more`).replace(/[^\w.-]+/g, '_');
  return `${stem}.${ext}`;
}

/**
 * M4 decimation of a sorted series for a chart `buckets` pixels wide: within [lo, hi], each
 * bucket keeps its first, lowest, highest and last point (the drawn line looks the same), plus
 * one point either side of the range so lines run to the edges. O(n); nulls are dropped.
 */
export function decimateM4(x: readonly number[], y: readonly (number | null)[], lo: number, hi: number, buckets: number): { x: number[]; y: (number | null)[] } {
  const n = x.length;
  if (n <= buckets * 4) return { x: x.slice(), y: y.slice() };
  const keep: number[] = [];
  const width = (hi - lo) / buckets || 1;
  let bucket = -1;
  let first = -1;
  let min = -1;
  let max = -1;
  let last = -1;
  const flush = (): void => {
    if (first < 0) return;
    for (const i of [first, min, max, last].sort((a, b) => a - b)) if (keep[keep.length - 1] !== i) keep.push(i);
  };
  let before = -1;
  let after = -1;
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    const yi = y[i];
    if (yi === null || yi === undefined) continue;
    if (xi < lo) { before = i; continue; }
    if (xi > hi) { after = i; break; }
    const b = Math.min(buckets - 1, Math.floor((xi - lo) / width));
    if (b !== bucket) {
      flush();
      bucket = b;
      first = min = max = last = i;
    } else {
      if (yi < (y[min] as number)) min = i;
      if (yi > (y[max] as number)) max = i;
      last = i;
    }
  }
  flush();
  if (before >= 0) keep.unshift(before);
  if (after >= 0) keep.push(after);
  return { x: keep.map((i) => x[i]!), y: keep.map((i) => y[i] ?? null) };
}
