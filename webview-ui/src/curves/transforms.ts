// Pure data transforms of the training-curves panel: smoothing, aligning runs on one x axis
// (uPlot plots columns sharing one x array), the DoF-vs-accuracy fit, and CSV export.
import { fitLogLinear, LogFit } from '../../../src/core/sweep/fit';
import type { EvalColumns, RunInfo, RunSeries, TrainColumns, XAxis } from '../../../src/webview-contract';

export type Column = (number | null)[];

/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not pulled
 * towards 0). weight 0 = raw, 0.99 = very smooth. Nulls and non-finite values pass through.
 * Per point, whatever the spacing: timeWeightedEma is what the charts use.
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

/**
 * Time-weighted exponential moving average with debiasing, as TensorBoard and W&B smooth
 * curves: the decay between two points is weight^(Δx / Δ), Δ the run's typical spacing (the
 * median gap of x), so a gap in the rows (a live run thinned to 10 rows a second, a resumed
 * run, rows at uneven times on the time axis) decays as much as the steps it spans, and on
 * evenly spaced rows this is exactly TensorBoard's debiased EMA. The running weight sum is the
 * debiasing denominator: the first points are not pulled towards 0. `x` sorted ascending.
 */
export function timeWeightedEma(x: readonly number[], values: readonly (number | null)[], weight: number): Column {
  if (weight <= 0) return values.slice();
  const w = Math.min(0.999, weight);
  const spacing = medianGap(x);
  let num = 0;
  let den = 0;
  let prev: number | undefined;
  return values.map((v, i) => {
    if (v === null || !Number.isFinite(v)) return v ?? null;
    const xi = x[i]!;
    const decay = prev === undefined ? 0 : Math.pow(w, Math.max(0, xi - prev) / spacing);
    prev = xi;
    num = num * decay + (1 - w) * v;
    den = den * decay + (1 - w);
    return num / den;
  });
}

function medianGap(x: readonly number[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < x.length; i++) if (x[i]! > x[i - 1]!) gaps.push(x[i]! - x[i - 1]!);
  if (!gaps.length) return 1;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)]!;
}

/**
 * The value of a sorted series at x: its last row at or before x (a curve's value "at step
 * 1,200" is what it had reached there); undefined outside the run's rows.
 */
export function valueAtX(xs: readonly number[], ys: readonly (number | null)[], x: number): { x: number; y: number } | undefined {
  const n = xs.length;
  // Before a run's first row or after its last, it has no value to compare.
  if (n === 0 || x < xs[0]! || x > xs[n - 1]!) return undefined;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (xs[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  for (let i = lo; i >= 0; i--) {
    const y = ys[i];
    if (y !== null && y !== undefined && Number.isFinite(y)) return { x: xs[i]!, y };
  }
  return undefined;
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

/** A run's rows, for the DoF view: the eval accuracies stand in when run.json has no numbers yet. */
export interface RunLike {
  readonly info: RunInfo;
  readonly eval?: { readonly acc: readonly number[] };
}

/** The accuracy a run reports: its final test accuracy (run.json's finalAcc, else its last eval). */
export function finalAccuracy(s: RunLike): number | undefined {
  if (typeof s.info.finalAcc === 'number' && Number.isFinite(s.info.finalAcc)) return s.info.finalAcc;
  const accs = (s.eval?.acc ?? []).filter((v) => Number.isFinite(v));
  return accs.length ? accs[accs.length - 1] : undefined;
}

/** The best test accuracy over the run's evaluations (shown as "best", never fitted: it selects on the test set). */
export function bestAccuracy(s: RunLike): number | undefined {
  if (typeof s.info.bestAcc === 'number' && Number.isFinite(s.info.bestAcc)) return s.info.bestAcc;
  const accs = (s.eval?.acc ?? []).filter((v) => Number.isFinite(v));
  return accs.length ? Math.max(...accs) : undefined;
}

export interface DofPoint {
  readonly runDir: string;
  readonly label: string;
  readonly dof: number;
  /** Final test accuracy. */
  readonly acc: number;
  readonly best?: number;
  /** RPG runs are fitted; plain (rpg.enabled false, e.g. a sweep's width baselines) are marks of their own. */
  readonly kind: 'rpg' | 'plain';
}

/** One DoF of the RPG runs: the mean final accuracy over its repeats (seeds), with their spread. */
export interface DofMean {
  readonly dof: number;
  readonly acc: number;
  readonly n: number;
  /** Sample standard deviation over the repeats (0 for one run). */
  readonly std: number;
}

export interface DofGroup {
  /** Every run, RPG and plain, as the table lists them (by DoF). */
  readonly points: DofPoint[];
  /** RPG runs averaged per DoF: what the fit and the chart's RPG marks use. */
  readonly means: DofMean[];
  readonly baselines: DofPoint[];
  readonly fit: Fit | undefined;
}

/** The DoF view's data per arch/dataset: final accuracies, RPG repeats averaged, fit over RPG only. */
export function dofGroups(series: readonly RunLike[]): Map<string, DofGroup> {
  const points = new Map<string, DofPoint[]>();
  for (const s of series) {
    const acc = finalAccuracy(s);
    if (acc === undefined || !(s.info.dof > 0)) continue;
    const key = comparableKey(s.info);
    const list = points.get(key) ?? [];
    const best = bestAccuracy(s);
    list.push({ runDir: s.info.runDir, label: runLabel(s.info), dof: s.info.dof, acc, ...(best !== undefined ? { best } : {}), kind: s.info.rpg === false ? 'plain' : 'rpg' });
    points.set(key, list);
  }
  const groups = new Map<string, DofGroup>();
  for (const [key, list] of points) {
    list.sort((p, q) => p.dof - q.dof || (p.kind === q.kind ? 0 : p.kind === 'rpg' ? -1 : 1));
    const byDof = new Map<number, number[]>();
    for (const p of list) if (p.kind === 'rpg') byDof.set(p.dof, [...(byDof.get(p.dof) ?? []), p.acc]);
    const means = [...byDof].map(([dof, accs]) => {
      const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
      const std = accs.length > 1 ? Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / (accs.length - 1)) : 0;
      return { dof, acc: mean, n: accs.length, std };
    });
    groups.set(key, { points: list, means, baselines: list.filter((p) => p.kind === 'plain'), fit: logLinearFit(means) });
  }
  return groups;
}

/** The DoF table as CSV: one row per run, final and best accuracy, and the fit's prediction. */
export function dofCsv(key: string, group: DofGroup): string {
  const [arch, dataset] = key.split(' · ');
  const lines = ['arch,dataset,run,runDir,kind,dof,finalAcc,bestAcc,fitAcc'];
  for (const p of group.points) {
    const fitted = group.fit && p.kind === 'rpg' ? group.fit.a + group.fit.b * Math.log(p.dof) : undefined;
    lines.push([arch, dataset, p.label, p.runDir, p.kind, p.dof, p.acc, p.best, fitted].map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
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
      lines.push(`${head},test,${[e.step[k], e.epoch[k], e.loss[k], e.acc[k], undefined, undefined, e.time[k]].map(csvCell).join(',')}`);
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
