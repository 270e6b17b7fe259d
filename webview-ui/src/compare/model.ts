// The Experiments table's data, apart from the DOM (unit-tested in Node): its columns, the
// filter language, sorting, rows that differ only by seed folded into mean ± std, CSV, and the
// axes the plots draw (linear or log, with readable ticks).
import type { CompareRow, RunMethod } from '../../../src/webview-contract';
import { count } from '../../../src/core/format/numbers';
import { aggregateBy, aggregateOf, Aggregate } from '../../../src/core/sweep/stats';

export type ColumnId = Exclude<keyof CompareRow, 'runDir' | 'groupKey' | 'hasCheckpoint' | 'progress'>;
export type ColumnGroup = 'run' | 'config' | 'metric';

export interface ColumnDef {
  readonly id: ColumnId;
  readonly label: string;
  readonly group: ColumnGroup;
  readonly numeric: boolean;
  /** Pixels in the table. */
  readonly width: number;
  /** What the column means (header tooltip, column chooser). */
  readonly title: string;
  /** Positive values that can span decades: a log axis often reads better. */
  readonly logFriendly?: boolean;
  /** A fraction shown as a percentage. */
  readonly percent?: boolean;
}

const col = (id: ColumnId, label: string, group: ColumnGroup, numeric: boolean, width: number, title: string, extra: Partial<ColumnDef> = {}): ColumnDef => ({ id, label, group, numeric, width, title, ...extra });

export const COLUMNS: readonly ColumnDef[] = [
  col('name', 'name', 'run', false, 150, 'The run\'s experiment name (a sweep point: its kind and size)'),
  col('status', 'status', 'run', false, 92, 'running (with progress), finished, stopped, failed or queued'),
  col('sweep', 'sweep', 'run', false, 150, 'The sweep the run is a point of'),
  col('runId', 'run id', 'run', false, 170, 'The run folder\'s name'),
  col('startedAt', 'started', 'run', false, 140, 'When the run started'),
  col('method', 'method', 'config', false, 78, 'rpg (the ring), a baseline at the same trained count (subspace, hashed = HashedNets, width = a narrower plain model) or plain'),
  col('arch', 'arch', 'config', false, 72, 'model.arch'),
  col('dataset', 'dataset', 'config', false, 104, 'data.dataset'),
  col('dof', 'DoF', 'config', true, 72, 'Trained numbers: ring (or baseline vector) + free parameters; the plain model: every parameter', { logFriendly: true }),
  col('ringSize', 'ring M', 'config', true, 70, 'Ring size M (rpg.dof); 0 for the plain model', { logFriendly: true }),
  col('generate', 'generate', 'config', false, 70, 'rpg.generate: kernels (biases and BatchNorm free) or all'),
  col('totalParams', 'params', 'config', true, 78, 'Parameters of the model that runs', { logFriendly: true }),
  col('width', 'width', 'config', true, 56, 'model.width multiplier'),
  col('sampling', 'sampling', 'config', false, 70, 'rpg.sampling'),
  col('lr', 'lr', 'config', true, 62, 'train.lr', { logFriendly: true }),
  col('optimizer', 'optimizer', 'config', false, 70, 'train.optimizer'),
  col('schedule', 'schedule', 'config', false, 70, 'train.schedule'),
  col('batchSize', 'batch', 'config', true, 54, 'train.batchSize', { logFriendly: true }),
  col('epochs', 'epochs', 'config', true, 56, 'train.epochs'),
  col('engine', 'engine', 'config', false, 56, 'train.engine'),
  col('backend', 'backend', 'config', false, 70, 'The backend the run trained on'),
  col('device', 'device', 'config', false, 110, 'The device, when the backend names one'),
  col('seed', 'seed', 'config', true, 50, 'seed'),
  col('bestAcc', 'best acc', 'metric', true, 76, 'Best test accuracy over the evaluations', { percent: true }),
  col('finalAcc', 'final acc', 'metric', true, 76, 'Test accuracy at the last evaluation (what sweeps fit)', { percent: true }),
  col('finalLoss', 'test loss', 'metric', true, 70, 'Test loss at the last evaluation', { logFriendly: true }),
  col('trainLoss', 'train loss', 'metric', true, 70, 'Training loss of the last step', { logFriendly: true }),
  col('steps', 'steps', 'metric', true, 64, 'Optimizer steps done', { logFriendly: true }),
  col('durationSec', 'duration', 'metric', true, 70, 'Training time (resumes add up)', { logFriendly: true }),
  col('samplesPerSec', 'samples/s', 'metric', true, 74, 'Mean training throughput (running: the current rate)', { logFriendly: true }),
  col('checkpointBytes', 'checkpoint', 'metric', true, 80, 'Size of checkpoint.bin', { logFriendly: true }),
];

export const COLUMN_BY_ID = new Map(COLUMNS.map((c) => [c.id, c]));

/** Width of a column in the table: "mean ± std" needs more room than one number. */
export function columnWidth(c: ColumnDef, aggregated: boolean): number {
  if (!aggregated || !c.numeric) return c.width;
  return c.group === 'metric' ? Math.max(c.width, c.percent ? 122 : 112) : Math.max(c.width, 64);
}

export const DEFAULT_COLUMNS: readonly ColumnId[] = ['name', 'status', 'method', 'arch', 'dataset', 'dof', 'ringSize', 'generate', 'lr', 'optimizer', 'backend', 'seed', 'bestAcc', 'finalAcc', 'finalLoss', 'steps', 'durationSec', 'samplesPerSec', 'checkpointBytes'];

// ── formatting ──────────────────────────────────────────────────────────────────────────────
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}

export function formatDuration(sec: number): string {
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 1 : 0)}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m ${String(Math.round(sec % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** A cell's text. */
export function formatValue(c: ColumnDef, v: number | string | undefined): string {
  if (v === undefined || v === '') return '';
  if (typeof v === 'string') return c.id === 'startedAt' ? v.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, '') : v;
  if (!Number.isFinite(v)) return '';
  if (c.percent) return `${(v * 100).toFixed(2)}%`;
  switch (c.id) {
    case 'durationSec':
      return formatDuration(v);
    case 'checkpointBytes':
      return formatBytes(v);
    case 'lr':
      return v >= 0.01 ? String(Number(v.toPrecision(3))) : v.toExponential(1).replace('e-', 'e-');
    case 'finalLoss':
    case 'trainLoss':
      return v.toPrecision(3);
    case 'width':
      return String(Number(v.toPrecision(3)));
    case 'samplesPerSec':
      return count(v);
    default:
      return Number.isInteger(v) ? count(v) : String(Number(v.toPrecision(4)));
  }
}

/** mean ± std, in the column's format. */
export function formatAggregate(c: ColumnDef, a: Aggregate): string {
  if (!a.n) return '';
  // One value, or every seed alike (a config number such as DoF): no ± 0.
  if (a.n === 1 || a.min === a.max) return formatValue(c, a.mean);
  if (c.percent) return `${(a.mean * 100).toFixed(2)} ± ${(a.std * 100).toFixed(2)}%`;
  return `${formatValue(c, a.mean)} ± ${formatValue(c, a.std)}`;
}

// ── rows as the table shows them ────────────────────────────────────────────────────────────
/** A table row: one run, or (aggregated) the runs of one setting over seeds. */
export interface ViewRow {
  /** The run folder (one run) or the group key. */
  readonly key: string;
  readonly runs: readonly CompareRow[];
  /** Text columns and one run's numbers: the value; aggregated numbers: the mean. */
  value(id: ColumnId): number | string | undefined;
  /** Aggregated numeric columns: mean ± std over the runs (seeds). */
  readonly aggregates?: ReadonlyMap<ColumnId, Aggregate>;
}

export function singleRow(r: CompareRow): ViewRow {
  return { key: r.runDir, runs: [r], value: (id) => r[id] as number | string | undefined };
}

/**
 * Runs that differ only in seed (same groupKey) as one row: metrics and other numbers as
 * mean ± std, text as the shared value (or "n values"), seed as the count of seeds.
 */
export function aggregateRows(rows: readonly CompareRow[]): ViewRow[] {
  return aggregateBy(rows, (r) => r.groupKey).map(({ key, items }) => {
    if (items.length === 1) return singleRow(items[0]!);
    const aggregates = new Map<ColumnId, Aggregate>();
    const text = new Map<ColumnId, string | undefined>();
    for (const c of COLUMNS) {
      if (c.numeric && c.id !== 'seed') aggregates.set(c.id, aggregateOf(items.map((r) => r[c.id] as number | undefined).filter((v): v is number => typeof v === 'number')));
      else if (!c.numeric) {
        const values = [...new Set(items.map((r) => r[c.id] as string | undefined))];
        text.set(c.id, values.length === 1 ? values[0] : c.id === 'runId' || c.id === 'startedAt' ? `${items.length} runs` : `${values.length} values`);
      }
    }
    return {
      key,
      runs: items,
      aggregates,
      value: (id) => (id === 'seed' ? items.length : text.has(id) ? text.get(id) : aggregates.get(id)?.mean),
    };
  });
}

// ── filtering ───────────────────────────────────────────────────────────────────────────────
export type FilterOp = '>' | '>=' | '<' | '<=' | '=' | '!=' | ':';

export interface FilterTerm {
  readonly column?: ColumnId;
  readonly op: FilterOp;
  readonly value: string;
}

export interface ParsedFilter {
  readonly terms: readonly FilterTerm[];
  /** Problems with the text (an unknown column): shown, and those terms ignored. */
  readonly errors: readonly string[];
}

const ALIASES: Record<string, ColumnId> = { acc: 'finalAcc', accuracy: 'finalAcc', final: 'finalAcc', best: 'bestAcc', m: 'ringSize', ring: 'ringSize', loss: 'finalLoss', kind: 'method', time: 'durationSec', duration: 'durationSec', params: 'totalParams', checkpoint: 'checkpointBytes', sps: 'samplesPerSec', id: 'runId', batch: 'batchSize' };

/** A column by id, label (spaces optional) or alias, case-insensitively. */
export function findColumn(name: string): ColumnId | undefined {
  const n = name.toLowerCase().replace(/[\s_-]+/g, '');
  for (const c of COLUMNS) if (c.id.toLowerCase() === n || c.label.toLowerCase().replace(/[\s_-]+/g, '') === n) return c.id;
  return ALIASES[n];
}

/**
 * The filter box's language: space-separated terms, all of which must hold. `column>0.9`,
 * `column<=1e-3`, `column=value`, `column!=value`, `column:text` (contains), a percentage for a
 * percent column (`acc>90%`); a bare word matches name, run id, sweep, method, arch, dataset
 * and status.
 */
export function parseFilter(text: string): ParsedFilter {
  const terms: FilterTerm[] = [];
  const errors: string[] = [];
  for (const token of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^([A-Za-z][\w/ -]*?)(>=|<=|!=|>|<|=|:)(.*)$/.exec(token);
    if (!m) {
      terms.push({ op: ':', value: token.toLowerCase() });
      continue;
    }
    const column = findColumn(m[1]!);
    if (!column) {
      errors.push(`unknown column "${m[1]}"`);
      continue;
    }
    terms.push({ column, op: m[2] as FilterOp, value: m[3]! });
  }
  return { terms, errors };
}

const TEXT_FIELDS: readonly ColumnId[] = ['name', 'runId', 'sweep', 'method', 'arch', 'dataset', 'status'];

function numberOf(c: ColumnDef, text: string): number {
  const t = text.trim();
  if (t.endsWith('%')) return parseFloat(t) / (c.percent ? 100 : 1);
  const v = parseFloat(t);
  // "acc>90" means 90%, not 9000%: a percent column reads a value above 1 as a percentage.
  return c.percent && v > 1 ? v / 100 : v;
}

export function matchesTerm(row: ViewRow, term: FilterTerm): boolean {
  if (!term.column) return TEXT_FIELDS.some((id) => String(row.value(id) ?? '').toLowerCase().includes(term.value));
  const c = COLUMN_BY_ID.get(term.column)!;
  const v = row.value(term.column);
  if (term.op === ':') return String(v ?? '').toLowerCase().includes(term.value.toLowerCase());
  if (c.numeric && typeof v === 'number') {
    const x = numberOf(c, term.value);
    if (!Number.isFinite(x)) return false;
    switch (term.op) {
      case '>': return v > x;
      case '>=': return v >= x;
      case '<': return v < x;
      case '<=': return v <= x;
      case '=': return Math.abs(v - x) <= 1e-9 * Math.max(1, Math.abs(x));
      case '!=': return Math.abs(v - x) > 1e-9 * Math.max(1, Math.abs(x));
    }
  }
  const s = String(v ?? '').toLowerCase();
  const want = term.value.toLowerCase();
  return term.op === '=' ? s === want : term.op === '!=' ? s !== want : false;
}

export function applyFilter(rows: readonly ViewRow[], filter: ParsedFilter): ViewRow[] {
  if (!filter.terms.length) return rows.slice();
  return rows.filter((r) => filter.terms.every((t) => matchesTerm(r, t)));
}

// ── sorting ─────────────────────────────────────────────────────────────────────────────────
/** Sorted by a column (unknown values last either way), then by run id for a stable order. */
export function sortRows(rows: ViewRow[], column: ColumnId, descending: boolean): ViewRow[] {
  const c = COLUMN_BY_ID.get(column);
  const sign = descending ? -1 : 1;
  const keyed = rows.map((r) => ({ r, v: r.value(column), id: r.key }));
  keyed.sort((a, b) => {
    const av = a.v;
    const bv = b.v;
    const aMissing = av === undefined || av === '' || (typeof av === 'number' && !Number.isFinite(av));
    const bMissing = bv === undefined || bv === '' || (typeof bv === 'number' && !Number.isFinite(bv));
    if (aMissing !== bMissing) return aMissing ? 1 : -1;
    let d = 0;
    if (!aMissing) d = c?.numeric && typeof av === 'number' && typeof bv === 'number' ? av - bv : String(av).localeCompare(String(bv), 'en', { numeric: true });
    return d !== 0 ? sign * d : a.id.localeCompare(b.id);
  });
  return keyed.map((k) => k.r);
}

// ── CSV ─────────────────────────────────────────────────────────────────────────────────────
function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The rows as CSV, raw numbers (fractions, seconds, bytes) so a spreadsheet can compute with
 * them: the visible columns, then the run folder; aggregated rows get `<col> std` columns and
 * the run count.
 */
export function rowsToCsv(rows: readonly ViewRow[], columns: readonly ColumnId[], aggregated: boolean): string {
  const cols = columns.map((id) => COLUMN_BY_ID.get(id)!).filter(Boolean);
  const header: string[] = [];
  for (const c of cols) {
    header.push(c.id);
    if (aggregated && c.numeric && c.id !== 'seed') header.push(`${c.id} std`);
  }
  header.push(aggregated ? 'runs' : 'runDir');
  const lines = [header.map(csvCell).join(',')];
  for (const r of rows) {
    const cells: unknown[] = [];
    for (const c of cols) {
      cells.push(r.value(c.id));
      if (aggregated && c.numeric && c.id !== 'seed') {
        const a = r.aggregates?.get(c.id);
        cells.push(a ? (a.n > 1 ? a.std : a.n === 1 ? 0 : undefined) : r.runs.length === 1 && typeof r.value(c.id) === 'number' ? 0 : undefined);
      }
    }
    cells.push(aggregated ? r.runs.map((x) => x.runDir).join(';') : r.runs[0]!.runDir);
    lines.push(cells.map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
}

// ── plot axes ───────────────────────────────────────────────────────────────────────────────
export interface Axis {
  readonly log: boolean;
  readonly min: number;
  readonly max: number;
  /** Position 0..1 of a value along the axis. */
  at(v: number): number;
  readonly ticks: readonly number[];
}

/** Log when asked, or ("auto") when every value is positive and they span 20× or more. */
export function wantsLog(values: readonly number[], mode: 'auto' | 'on' | 'off', logFriendly = true): boolean {
  const xs = values.filter((v) => Number.isFinite(v));
  if (mode === 'off' || !xs.length) return false;
  const positive = xs.every((v) => v > 0);
  if (mode === 'on') return positive;
  return logFriendly && positive && Math.max(...xs) / Math.min(...xs) >= 20;
}

function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** An axis over the values: padded a little, "nice" ticks (decades and 2·, 5· on a log axis). */
export function makeAxis(values: readonly number[], log: boolean, targetTicks = 6): Axis {
  const xs = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  let lo = xs.length ? Math.min(...xs) : 0;
  let hi = xs.length ? Math.max(...xs) : 1;
  if (log) {
    let a = Math.log10(lo);
    let b = Math.log10(hi);
    if (b - a < 1e-9) [a, b] = [a - 0.5, b + 0.5];
    const pad = (b - a) * 0.06;
    a -= pad;
    b += pad;
    const ticks: number[] = [];
    const decades = b - a;
    const mults = decades > 4 ? [1] : decades > 1.5 ? [1, 3] : [1, 2, 5];
    for (let d = Math.floor(a); d <= Math.ceil(b); d++) for (const m of mults) {
      const t = m * Math.pow(10, d);
      if (Math.log10(t) >= a - 1e-9 && Math.log10(t) <= b + 1e-9) ticks.push(t);
    }
    return { log: true, min: Math.pow(10, a), max: Math.pow(10, b), at: (v) => (Math.log10(v) - a) / (b - a), ticks };
  }
  if (hi - lo < 1e-12) [lo, hi] = [lo - (Math.abs(lo) * 0.1 || 0.5), hi + (Math.abs(hi) * 0.1 || 0.5)];
  const pad = (hi - lo) * 0.06;
  lo -= pad;
  hi += pad;
  const step = niceStep(hi - lo, targetTicks);
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return { log: false, min: lo, max: hi, at: (v) => (v - lo) / (hi - lo), ticks };
}

// ── categories ──────────────────────────────────────────────────────────────────────────────
export const METHODS: readonly RunMethod[] = ['rpg', 'subspace', 'hashed', 'width', 'plain'];

export const METHOD_LABEL: Record<RunMethod, string> = { rpg: 'RPG', subspace: 'random subspace', hashed: 'HashedNets', width: 'narrow plain (width)', plain: 'plain model' };

/** A file name for an export: what it is and when. */
export function exportName(what: string, ext: string, now = new Date()): string {
  const stamp = now.toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  return `${what}-${stamp}.${ext}`;
}
