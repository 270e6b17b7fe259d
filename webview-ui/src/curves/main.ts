// Training curves webview: pick runs (from the runs folder list, or sent by the Experiments
// tree), plot loss / accuracy (train: the smoothed curve over its raw one drawn faintly; test:
// dotted with a marker per evaluation), learning rate and samples/s against step, epoch or
// time; live rows append while a run trains. Hover a chart to read every run's value at that
// step, click to pin it. A second view plots final test accuracy against DoF (log x) per
// architecture/dataset: RPG runs averaged over repeats and fitted (acc ≈ a + b·ln DoF), plain
// models (baselines) as marks of their own. Narrow panels fold the run list and the options.
import '../shared/base.css';
import './curves.css';
import type uPlot from 'uplot';
import type { CurvesToHost, CurvesToWebview, CurvesViewState, EvalColumns, RunInfo, TrainColumns, XAxis } from '../../../src/webview-contract';
import { clear, h } from '../shared/dom';
import { count, percent } from '../../../src/core/format/numbers';
import { onThemeChange, palette } from '../shared/theme';
import { connect, onHostMessage } from '../shared/vscode-api';
import { ChartEvents, ChartSpec, composePng, createChart, renderForExport, SeriesSpec, XSync } from './charts';
import { Column, compactNumber, decimateM4, dofCsv, DofGroup, dofGroups, exportName, joinTables, runLabel, sortedUnique, timeWeightedEma, toCsv, valueAtX, xOf, XYTable } from './transforms';

const api = connect<CurvesToHost, CurvesViewState>();
const app = document.getElementById('app')!;

/** TensorBoard's default smoothing: per-step train curves are noise without it. */
export const DEFAULT_SMOOTHING = 0.6;
const DEFAULTS: CurvesViewState = { selected: [], hidden: [], xAxis: 'step', logY: false, smoothing: DEFAULT_SMOOTHING, view: 'curves', showTrain: true, showVal: true };
/** Below this width the run list and the options fold away, so the charts start near the top. */
const NARROW_PX = 560;
/** Exported PNGs are drawn this wide (CSS px), whatever the panel's width. */
const EXPORT_WIDTH = 1200;
const restored = api.getState();
let state: CurvesViewState = { ...DEFAULTS, ...(restored ?? {}) };
let available: RunInfo[] = [];
let runsDir: string | undefined;
let firstRuns = !restored;
let dofGroupKey: string | undefined;
let filter = '';
let statusText = '';
/** Whether the user opened or closed the run list (undefined: by the panel's width). */
let runsOpen: boolean | undefined;
/** The x the cursor is over (undefined: none); the readout shows it, or the pinned x. */
let cursorX: number | undefined;

interface RunData {
  info: RunInfo;
  train: TrainColumns;
  eval: EvalColumns;
}
const data = new Map<string, RunData>();
/** Colours stay with a run for the session (selection order), not with its position. */
const colorIndex = new Map<string, number>();

const sync = new XSync();
// A new zoom window: re-decimate the runs for it (the charts already show the old data scaled).
sync.onChange = () => scheduleRedraw();
let charts: { spec: ChartSpec; u: uPlot; figure: HTMLElement }[] = [];
let chartsKey = '';
let redrawPending = false;

function save(next: Partial<CurvesViewState>): void {
  state = { ...state, ...next };
  api.setState(state);
}

function colorOf(runDir: string): string {
  if (!colorIndex.has(runDir)) colorIndex.set(runDir, colorIndex.size);
  return palette(colorIndex.get(runDir)! + 1)[colorIndex.get(runDir)!]!;
}

function infoOf(runDir: string): RunInfo | undefined {
  return data.get(runDir)?.info ?? available.find((r) => r.runDir === runDir);
}

function selectRuns(dirs: readonly string[], on: boolean): void {
  const sel = new Set(state.selected);
  for (const d of dirs) on ? sel.add(d) : sel.delete(d);
  save({ selected: [...sel] });
  const missing = dirs.filter((d) => on && !data.has(d));
  if (missing.length) api.postMessage({ type: 'loadRuns', runDirs: missing });
  render();
}

// ── chart data ──────────────────────────────────────────────────────────────────────────────
type Metric = 'loss' | 'acc' | 'lr' | 'samplesPerSec';

/**
 * One series ready to plot: sorted, smoothed, and decimated to the chart's width within the
 * visible x window (the whole run, or the zoom), so a 100k-row run draws a few thousand points.
 */
const prepared = new Map<string, { x: number[]; y: Column }>();

/** Sorted, smoothed (and for log axes positive-only) columns, kept until their inputs change. */
function prepare(key: string, x: readonly number[], y: readonly number[], smoothing: number, positiveOnly: boolean): { x: number[]; y: Column } {
  const k = `${key}|${x.length}|${smoothing}|${positiveOnly}`;
  const hit = prepared.get(k);
  if (hit) return hit;
  const sorted = sortedUnique({ x, ys: [y] });
  let col: Column = smoothing > 0 ? timeWeightedEma(sorted.x, sorted.ys[0]!, smoothing) : sorted.ys[0]!;
  if (positiveOnly) col = col.map((v) => (v !== null && v > 0 ? v : null));
  if (prepared.size > 256) prepared.clear();
  const out = { x: sorted.x, y: col };
  prepared.set(k, out);
  return out;
}

function table(key: string, x: readonly number[], y: readonly number[], smoothing: number, positiveOnly: boolean, pixels: number): XYTable {
  const sorted = prepare(key, x, y, smoothing, positiveOnly);
  const col = sorted.y;
  if (!sorted.x.length) return { x: [], ys: [[]] };
  const lo = sync.zoom?.min ?? sorted.x[0]!;
  const hi = sync.zoom?.max ?? sorted.x[sorted.x.length - 1]!;
  const d = decimateM4(sorted.x, col, lo, hi, Math.max(200, Math.round(pixels)));
  return { x: d.x, ys: [d.y] };
}

/** x range of every selected run's rows: what "reset zoom" returns to. */
function fullExtent(runs: readonly RunData[], axis: XAxis): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of runs) {
    for (const cols of [r.train, r.eval]) {
      const xs = xOf(cols, axis);
      for (const v of xs) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  return lo <= hi ? [lo, hi] : undefined;
}

function visibleRuns(): RunData[] {
  return state.selected.map((d) => data.get(d)).filter((r): r is RunData => r !== undefined);
}

function chartSpecs(width: number): ChartSpec[] {
  const runs = visibleRuns();
  const x: XAxis = state.xAxis;
  sync.extent = fullExtent(runs, x);
  const xLabel = x === 'time' ? 'time (s)' : x;
  const spec = (id: string, title: string, yLabel: string, metric: Metric, withTest: boolean, logY: boolean, smooth: boolean, yFormat?: (v: number) => string): ChartSpec => {
    const tables: XYTable[] = [];
    const series: SeriesSpec[] = [];
    const smoothing = smooth ? state.smoothing : 0;
    for (const r of runs) {
      const show = !state.hidden.includes(r.info.runDir);
      const color = colorOf(r.info.runDir);
      const suffix = withTest ? ' train' : '';
      if (state.showTrain || !withTest) {
        const key = `${r.info.runDir}|train|${metric}|${x}`;
        // Smoothed: the raw rows stay visible, faintly, beneath the smoothed curve.
        if (smoothing > 0) {
          tables.push(table(key, xOf(r.train, x), r.train[metric], 0, logY, width));
          series.push({ label: `${runLabel(r.info)}${suffix} (raw)`, color, show, faint: true });
        }
        tables.push(table(key, xOf(r.train, x), r.train[metric], smoothing, logY, width));
        series.push({ label: `${runLabel(r.info)}${suffix}`, color, show });
      }
      if (withTest && state.showVal && (metric === 'loss' || metric === 'acc')) {
        // Test evaluations: few rows, each a measurement: dotted, a marker on each, never smoothed.
        tables.push(table(`${r.info.runDir}|eval|${metric}|${x}`, xOf(r.eval, x), r.eval[metric], 0, logY, width));
        series.push({ label: `${runLabel(r.info)} test`, color, dashed: true, markers: true, show });
      }
    }
    return { id, title, xLabel, yLabel, logY, series, data: joinTables(tables), height: width < 500 ? 170 : 220, ...(yFormat ? { yFormat } : {}) };
  };
  return [
    spec('loss', 'Loss', 'loss', 'loss', true, state.logY, true),
    spec('acc', 'Accuracy', 'accuracy', 'acc', true, false, true, (v) => percent(v, 0)),
    spec('lr', 'Learning rate', 'lr', 'lr', false, state.logY, false),
    spec('sps', 'Samples / s', 'samples/s', 'samplesPerSec', false, false, true),
  ];
}

function structureKey(specs: readonly ChartSpec[]): string {
  return JSON.stringify([specs.map((s) => [s.id, s.logY, s.series.map((x) => [x.label, x.color, x.dashed, x.show])]), state.xAxis, document.body.className]);
}

function pointCount(): number {
  return visibleRuns().reduce((s, r) => s + r.train.step.length + r.eval.step.length, 0);
}

function describe(spec: ChartSpec): string {
  const runs = new Set(spec.series.map((s) => s.label.replace(/ (train|test)( \(raw\))?$/, ''))).size;
  return `${spec.title} against ${spec.xLabel} for ${runs} run${runs === 1 ? '' : 's'}. Focus the chart, then: arrow keys pan, plus and minus zoom, 0 resets. Hover to read every run's value at a step, click to pin it.`;
}

/** Each series and how it is drawn ("name train (raw):faint"), kept on the figure for tests and tools. */
function seriesKey(spec: ChartSpec): string {
  return spec.series.map((x) => `${x.label}:${[x.faint && 'faint', x.dashed && 'dotted', x.markers && 'markers'].filter(Boolean).join('+') || 'solid'}`).join('|');
}

// ── compare at a step ─────────────────────────────────────────────────────────────────────────
const chartEvents: ChartEvents = {
  onCursor: (x) => {
    cursorX = x;
    renderReadout();
  },
  onClick: (x) => {
    const at = snapX(x);
    save(state.pinnedX !== undefined && Math.abs(state.pinnedX - at) < 1e-9 ? { pinnedX: undefined } : { pinnedX: at });
    for (const c of charts) c.u.redraw(false);
    renderReadout();
  },
  pinned: () => state.pinnedX,
};

/** Steps are integers: a pinned step is a step, not a pixel's fraction of one. */
function snapX(x: number): number {
  return state.xAxis === 'step' ? Math.round(x) : Number(x.toPrecision(6));
}

/** Every visible run's values at `x`: train (smoothed, and raw when smoothing) and test, per metric. */
export function valuesAt(x: number): { run: RunData; loss?: number; lossRaw?: number; testLoss?: number; acc?: number; accRaw?: number; testAcc?: number }[] {
  const axis = state.xAxis;
  return visibleRuns().filter((r) => !state.hidden.includes(r.info.runDir)).map((r) => {
    const at = (split: 'train' | 'eval', metric: 'loss' | 'acc', smoothing: number) => {
      const cols = split === 'train' ? r.train : r.eval;
      const p = prepare(`${r.info.runDir}|${split}|${metric}|${axis}`, xOf(cols, axis), cols[metric], smoothing, false);
      return valueAtX(p.x, p.y, x)?.y;
    };
    const smoothing = state.smoothing;
    const row: ReturnType<typeof valuesAt>[number] = { run: r };
    const set = (k: keyof typeof row, v: number | undefined) => v !== undefined && ((row as Record<string, unknown>)[k] = v);
    set('loss', at('train', 'loss', smoothing));
    set('acc', at('train', 'acc', smoothing));
    if (smoothing > 0) {
      set('lossRaw', at('train', 'loss', 0));
      set('accRaw', at('train', 'acc', 0));
    }
    set('testLoss', at('eval', 'loss', 0));
    set('testAcc', at('eval', 'acc', 0));
    return row;
  });
}

/** Fills the legend's values: every shown run at the cursor's step, or the pinned one. */
function renderReadout(): void {
  const head = document.getElementById('readout');
  if (!head) return;
  clear(head);
  const pinned = state.pinnedX;
  const x = pinned ?? cursorX;
  const at = x === undefined ? undefined : snapX(x);
  const axisName = state.xAxis === 'time' ? 'time' : state.xAxis;
  const where = at === undefined ? '' : state.xAxis === 'time' ? `${at.toFixed(1)} s` : state.xAxis === 'epoch' ? at.toFixed(2) : count(at);
  head.append(
    at === undefined ? h('span', { class: 'muted' }, 'Hover a chart to compare every run at a step; click to pin it.') : h('strong', {}, `${pinned !== undefined ? 'Pinned at' : 'At'} ${axisName} ${where}`),
    pinned !== undefined ? h('button', { class: 'link', id: 'unpin' }, 'unpin') : at !== undefined ? h('span', { class: 'muted' }, ' (click to pin)') : '',
  );
  head.querySelector('#unpin')?.addEventListener('click', () => {
    save({ pinnedX: undefined });
    for (const c of charts) c.u.redraw(false);
    renderReadout();
  });
  const fmt = (v: number | undefined, asPercent = false) => (v === undefined ? '–' : asPercent ? percent(v, 2) : v.toPrecision(4));
  const values = new Map(at === undefined ? [] : valuesAt(at).map((r) => [r.run.info.runDir, r]));
  for (const el of Array.from(document.querySelectorAll<HTMLElement>('#legend .legend-item'))) {
    const target = el.querySelector('.legend-values');
    if (!target) continue;
    const r = values.get(el.dataset['run'] ?? '');
    target.textContent = `loss ${fmt(r?.loss)}${r?.lossRaw !== undefined ? ` (raw ${fmt(r.lossRaw)})` : ''} · test ${fmt(r?.testLoss)} · acc ${fmt(r?.acc, true)}${r?.accRaw !== undefined ? ` (raw ${fmt(r.accRaw, true)})` : ''} · test ${fmt(r?.testAcc, true)}`;
  }
}

/** Builds the charts, or (same runs, series and axes) only swaps their data in. */
function drawCharts(host: HTMLElement): void {
  if (!visibleRuns().length) {
    destroyCharts();
    clear(host);
    host.append(h('p', { class: 'placeholder' }, state.selected.length ? 'Loading runs…' : 'No run picked yet.'));
    return;
  }
  const width = Math.max(260, host.clientWidth || 600);
  const specs = chartSpecs(width);
  const key = structureKey(specs);
  if (key === chartsKey && charts.length === specs.length && charts[0]?.figure.isConnected) {
    specs.forEach((spec, i) => {
      const c = charts[i]!;
      c.spec = spec;
      c.u.setData(spec.data as uPlot.AlignedData, !sync.zoom);
      if (sync.zoom) c.u.setScale('x', sync.zoom);
      c.figure.setAttribute('aria-label', describe(spec));
      c.figure.dataset['series'] = seriesKey(spec);
    });
    return;
  }
  destroyCharts();
  clear(host);
  chartsKey = key;
  for (const spec of specs) {
    const figure = h('figure', { class: 'chart', id: `chart-${spec.id}`, tabindex: 0, role: 'img', 'aria-label': describe(spec), 'data-series': seriesKey(spec) }, h('figcaption', {}, spec.title));
    host.append(figure);
    const u = createChart(spec, figure, width, sync, () => undefined, chartEvents);
    charts.push({ spec, u, figure });
  }
}

function destroyCharts(): void {
  for (const c of charts) {
    sync.remove(c.u);
    c.u.destroy();
  }
  charts = [];
  chartsKey = '';
}

function scheduleRedraw(): void {
  if (redrawPending) return;
  redrawPending = true;
  // Big runs redraw at most 4 times a second; small ones on the next frame.
  const delay = pointCount() > 200_000 ? 250 : 0;
  window.setTimeout(() => requestAnimationFrame(() => {
    redrawPending = false;
    const host = document.getElementById('charts');
    if (host && state.view === 'curves') {
      drawCharts(host);
      renderLegend();
      setStatus();
    } else render();
  }), delay);
}

// ── page ────────────────────────────────────────────────────────────────────────────────────
function isNarrow(): boolean {
  return window.innerWidth < NARROW_PX;
}

function toolbar(): HTMLElement {
  const tab = (view: CurvesViewState['view'], label: string): HTMLButtonElement => {
    const b = h('button', { role: 'tab', id: `tab-${view}`, class: state.view === view ? '' : 'secondary', 'aria-selected': String(state.view === view), 'aria-controls': 'view', tabindex: state.view === view ? 0 : -1 }, label);
    b.addEventListener('click', () => {
      save({ view });
      render();
    });
    return b;
  };
  const tabs = h('div', { role: 'tablist', 'aria-label': 'View', class: 'tabs' }, tab('curves', 'Curves'), tab('dof', 'DoF vs accuracy'));
  tabs.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    save({ view: state.view === 'curves' ? 'dof' : 'curves' });
    render();
    document.getElementById(`tab-${state.view}`)?.focus();
  });
  const xSel = h('select', { id: 'x-axis', 'aria-label': 'X axis' }, ...(['step', 'epoch', 'time'] as const).map((v) => h('option', { value: v, selected: state.xAxis === v }, v)));
  xSel.addEventListener('change', () => {
    sync.zoom = undefined;
    save({ xAxis: xSel.value as XAxis, pinnedX: undefined });
    render();
  });
  const check = (id: string, label: string, value: boolean, set: (v: boolean) => void): HTMLLabelElement => {
    const input = h('input', { type: 'checkbox', id, checked: value });
    input.addEventListener('change', () => {
      set(input.checked);
      render();
    });
    return h('label', { for: id }, input, label);
  };
  const smoothing = h('input', { type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01, value: state.smoothing, 'aria-label': 'Smoothing' });
  const smoothingValue = h('output', { for: 'smoothing' }, state.smoothing.toFixed(2));
  smoothing.addEventListener('input', () => {
    smoothingValue.textContent = Number(smoothing.value).toFixed(2);
    const wasSmoothed = state.smoothing > 0;
    save({ smoothing: Number(smoothing.value) });
    // Smoothing on/off adds or removes the faint raw curves: new charts, not new data.
    if (wasSmoothed !== state.smoothing > 0) render();
    else scheduleRedraw();
  });
  const png = h('button', { class: 'secondary', id: 'export-png' }, 'Export PNG');
  png.addEventListener('click', () => void exportPng());
  const csv = h('button', { class: 'secondary', id: 'export-csv', title: state.view === 'dof' ? 'The DoF table: one row per run' : 'Every metric row of the selected runs' }, 'Export CSV');
  csv.addEventListener('click', exportCsv);
  const curvesOnly = state.view === 'curves';
  // The options fold into "Options" on a narrow panel (closed), so the charts start near the top.
  const options = curvesOnly
    ? h('details', { class: 'options', id: 'options', open: !isNarrow() },
        h('summary', {}, 'Options'),
        h('div', { class: 'options-body' },
          h('label', { for: 'x-axis' }, 'x', xSel),
          check('log-y', 'Log scale (loss, lr)', state.logY, (v) => save({ logY: v })),
          check('show-train', 'Train', state.showTrain, (v) => save({ showTrain: v })),
          check('show-val', 'Test', state.showVal, (v) => save({ showVal: v })),
          h('label', { for: 'smoothing', title: 'Time-weighted exponential moving average with debiasing (as TensorBoard); the raw curve stays faint beneath' }, 'Smoothing', smoothing, smoothingValue)))
    : undefined;
  return h('header', { class: 'toolbar' }, h('h1', { class: 'title' }, 'Training curves'), tabs, options, h('div', { class: 'exports' }, png, csv));
}

function runPicker(): HTMLElement {
  const list = h('ul', { class: 'run-list', 'aria-label': 'Runs found' });
  const shown = available.filter((r) => !filter || `${r.name} ${r.runId} ${r.arch} ${r.dataset}`.toLowerCase().includes(filter.toLowerCase()));
  for (const r of shown) {
    const id = `run-${available.indexOf(r)}`;
    const input = h('input', { type: 'checkbox', id, checked: state.selected.includes(r.runDir), 'data-run': r.runDir });
    input.addEventListener('change', () => selectRuns([r.runDir], input.checked));
    list.append(h('li', { class: 'run-item' }, h('label', { for: id, title: r.runDir }, input,
      h('span', { class: 'run-name' }, r.name), h('span', { class: 'muted' }, ` ${r.runId} · DoF ${compactNumber(r.dof)}${r.finalAcc !== undefined ? ` · ${percent(r.finalAcc)} test` : ''}`),
      r.status === 'running' && h('span', { class: 'badge' }, 'live'))));
  }
  const search = h('input', { type: 'search', id: 'run-filter', placeholder: 'Filter runs', 'aria-label': 'Filter runs', value: filter });
  search.addEventListener('input', () => {
    filter = search.value;
    const old = document.querySelector('.run-list');
    const fresh = runPicker().querySelector('.run-list');
    if (fresh) old?.replaceWith(fresh);
  });
  const refresh = h('button', { class: 'secondary', id: 'refresh-runs' }, 'Refresh');
  refresh.addEventListener('click', () => api.postMessage({ type: 'refreshRuns' }));
  // A <details>: open beside the charts on a wide panel, folded above them on a narrow one.
  const open = runsOpen ?? !isNarrow();
  const aside = h('details', { class: 'runs', id: 'runs', 'aria-label': 'Runs', open },
    h('summary', { class: 'runs-head' }, h('h2', {}, `Runs (${available.length})`), h('span', { class: 'muted runs-selected' }, ` ${state.selected.length} shown`)),
    h('div', { class: 'runs-tools' }, search, refresh),
    available.length ? list : h('p', { class: 'placeholder' }, runsDir ? `No runs under ${runsDir} yet. Train a config and its run appears here.` : 'Open a workspace folder to list its runs.'));
  aside.addEventListener('toggle', () => {
    // Toggles the width makes (resize) are not the user's choice.
    if (aside.dataset['auto'] === '1') delete aside.dataset['auto'];
    else runsOpen = aside.open;
  });
  return aside;
}

/**
 * The legend is also the readout: one row per run (a button that hides or shows it) with its
 * values at the cursor's step or the pinned one (dashes otherwise), under one line saying which
 * step. Every row is always there, so the charts below never move while the pointer is on them.
 */
function renderLegend(): void {
  const host = document.getElementById('legend');
  if (!host) return;
  clear(host);
  const runs = state.selected.map((d) => infoOf(d)).filter((r): r is RunInfo => r !== undefined);
  if (!runs.length) {
    host.append(h('span', { class: 'muted' }, isNarrow() ? 'Open Runs above to pick runs to compare.' : 'Pick runs on the left to compare them.'));
    return;
  }
  host.append(h('div', { class: 'readout-head', id: 'readout' }));
  for (const r of runs) {
    const hidden = state.hidden.includes(r.runDir);
    const d = data.get(r.runDir);
    const b = h('button', { class: 'legend-item', 'aria-pressed': String(!hidden), title: `${hidden ? 'Show' : 'Hide'} ${r.name} (${r.runDir})`, 'data-run': r.runDir },
      h('span', { class: 'legend-name' }, h('span', { class: 'swatch', 'aria-hidden': 'true' }), runLabel(r),
        h('span', { class: 'muted' }, ` · ${d ? count(d.train.step.length) : '…'} pts${r.status === 'running' ? ' · live' : ''}`)),
      h('span', { class: 'legend-values' }));
    b.querySelector<HTMLElement>('.swatch')!.style.background = colorOf(r.runDir);
    b.addEventListener('click', () => {
      const set = new Set(state.hidden);
      hidden ? set.delete(r.runDir) : set.add(r.runDir);
      save({ hidden: [...set] });
      scheduleRedraw();
    });
    host.append(b);
  }
  host.append(h('span', { class: 'legend-key muted', 'aria-hidden': 'true' }, state.smoothing > 0 ? 'train: smoothed over raw · test: dotted, ● per evaluation' : 'train: solid · test: dotted, ● per evaluation'));
  renderReadout();
}

function setStatus(): void {
  const el = document.getElementById('status');
  if (!el) return;
  const n = pointCount();
  el.textContent = `${visibleRuns().length} run(s), ${count(n)} points. Drag to zoom, wheel to zoom, shift+wheel to pan, double-click to reset.${statusText ? ` ${statusText}` : ''}`;
}

/** The DoF view's groups: every known run (run.json's numbers), with loaded eval rows where it has none. */
function currentDofGroups(): Map<string, DofGroup> {
  const pool = new Map<string, { info: RunInfo; eval?: { acc: number[] } }>();
  for (const r of available) pool.set(r.runDir, { info: r });
  for (const [dir, d] of data) pool.set(dir, { info: { ...available.find((a) => a.runDir === dir), ...d.info }, eval: d.eval });
  return dofGroups([...pool.values()]);
}

function selectedDofKey(groups: Map<string, DofGroup>): string | undefined {
  const keys = [...groups.keys()];
  if (!keys.length) return undefined;
  return dofGroupKey && groups.has(dofGroupKey) ? dofGroupKey : keys.sort((a, b) => groups.get(b)!.points.length - groups.get(a)!.points.length)[0]!;
}

function dofSpec(key: string, g: DofGroup): ChartSpec {
  const [rpgColor, fitColor, baseColor] = palette(3);
  // One x column for the RPG means, the fit over them, and the baselines: nulls elsewhere.
  const xs = [...new Set([...g.means.map((m) => m.dof), ...g.baselines.map((b) => b.dof)])].sort((a, b) => a - b);
  const meanAt = new Map(g.means.map((m) => [m.dof, m.acc]));
  const baseAt = new Map(g.baselines.map((b) => [b.dof, b.acc]));
  const fit = g.fit;
  return {
    id: 'dof', title: `Final test accuracy vs DoF: ${key}`, xLabel: 'DoF (log)', yLabel: 'final test accuracy', logX: true,
    series: [
      { label: 'RPG (mean over repeats)', color: rpgColor!, pointsOnly: true },
      ...(fit ? [{ label: 'fit over RPG', color: fitColor!, dashed: true }] : []),
      ...(g.baselines.length ? [{ label: 'plain models (baselines)', color: baseColor!, pointsOnly: true, pointSize: 11 }] : []),
    ],
    data: [
      xs,
      xs.map((x) => meanAt.get(x) ?? null),
      ...(fit ? [xs.map((x) => (meanAt.has(x) ? fit.a + fit.b * Math.log(x) : null))] : []),
      ...(g.baselines.length ? [xs.map((x) => baseAt.get(x) ?? null)] : []),
    ],
    height: isNarrow() ? 220 : 300, yFormat: (v) => percent(v, 0),
  };
}

function dofView(host: HTMLElement): void {
  const groups = currentDofGroups();
  const selectedKey = selectedDofKey(groups);
  if (!selectedKey) {
    host.append(h('p', { class: 'placeholder' }, 'No finished runs with an accuracy yet.'));
    return;
  }
  const keys = [...groups.keys()];
  const sel = h('select', { id: 'dof-group', 'aria-label': 'Architecture and dataset' }, ...keys.map((k) => h('option', { value: k, selected: k === selectedKey }, `${k} (${groups.get(k)!.points.length} runs)`)));
  sel.addEventListener('change', () => {
    dofGroupKey = sel.value;
    render();
  });
  const g = groups.get(selectedKey)!;
  const fit = g.fit;
  const rpgRuns = g.points.filter((p) => p.kind === 'rpg').length;
  const fitText = fit
    ? `RPG: acc ≈ ${fit.a.toFixed(4)} + ${fit.b.toFixed(4)}·ln DoF (R² = ${fit.r2.toFixed(3)}, n = ${fit.n} DoF values from ${rpgRuns} RPG runs${g.baselines.length ? `; ${g.baselines.length} plain run${g.baselines.length === 1 ? '' : 's'} shown apart, not fitted` : ''})`
    : `The log-linear fit needs RPG runs at 3 or more DoF values (${g.means.length} here).`;
  const spec = dofSpec(selectedKey, g);
  const figure = h('figure', { class: 'chart', id: 'chart-dof', tabindex: 0, role: 'img', 'aria-label': `${spec.title}. ${fitText}` });
  const legend = h('div', { class: 'legend dof-legend', 'aria-hidden': 'true' }, ...spec.series.map((s) => {
    const sw = h('span', { class: `swatch${s.pointsOnly ? ' dot' : ''}` });
    sw.style.background = s.color;
    return h('span', { class: 'legend-item static' }, sw, s.label);
  }));
  host.append(h('div', { class: 'dof-head' }, h('label', { for: 'dof-group' }, 'Runs of', sel), h('p', { class: 'fit', id: 'fit' }, fitText)), legend, figure);
  destroyCharts();
  const u = createChart(spec, figure, Math.max(260, (host.clientWidth || 600) - 4), sync, () => undefined);
  charts = [{ spec, u, figure }];
  chartsKey = 'dof';
  // Every run, with its final accuracy, its best epoch and what the fit predicts; the table
  // scrolls inside its own box on a narrow panel instead of being cut off.
  const fitted = (p: (typeof g.points)[number]) => (fit && p.kind === 'rpg' ? percent(fit.a + fit.b * Math.log(p.dof), 2) : '—');
  host.append(h('div', { class: 'table-scroll' }, h('table', { class: 'dof-table', 'aria-label': 'Runs in the DoF view' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Run'), h('th', { class: 'num' }, 'DoF'), h('th', { class: 'num' }, 'Final'), h('th', { class: 'num' }, 'Best'), h('th', { class: 'num col-fit' }, 'Fit'))),
    h('tbody', {}, ...g.points.map((p) => h('tr', { class: p.kind === 'rpg' ? 'rpg' : 'baseline' },
      h('td', { class: 'run-cell', title: p.runDir }, p.kind === 'rpg' ? p.label : `${p.label} (plain)`),
      h('td', { class: 'num' }, count(p.dof)), h('td', { class: 'num' }, percent(p.acc, 2)),
      h('td', { class: 'num' }, p.best !== undefined ? percent(p.best, 2) : '—'), h('td', { class: 'num col-fit' }, fitted(p))))))));
}

function render(): void {
  destroyCharts();
  clear(app);
  app.setAttribute('aria-busy', 'false');
  const view = h('section', { id: 'view', role: 'tabpanel', 'aria-labelledby': `tab-${state.view}`, class: 'view' });
  app.append(toolbar(), h('div', { class: 'body' }, runPicker(), view));
  if (state.view === 'dof') dofView(view);
  else {
    view.append(
      h('div', { id: 'legend', class: 'legend', role: 'group', 'aria-label': 'Legend: toggle a run; values at the cursor\'s step' }),
      h('div', { id: 'charts', class: 'charts' }),
    );
    renderLegend();
    drawCharts(document.getElementById('charts')!);
  }
  view.append(h('p', { class: 'status', id: 'status' }));
  setStatus();
}

async function exportPng(): Promise<void> {
  if (!charts.length) return;
  const curves = state.view === 'curves';
  const legend = curves
    ? visibleRuns().filter((r) => !state.hidden.includes(r.info.runDir)).map((r) => ({ label: runLabel(r.info), color: colorOf(r.info.runDir) }))
    : charts[0]!.spec.series.map((s) => ({ label: s.label, color: s.color }));
  // Drawn again off screen at a figure's width, whatever the panel's width.
  const hi = renderForExport(charts.map((c) => c.spec), EXPORT_WIDTH, () => (curves ? { pinned: () => state.pinnedX } : {}));
  try {
    // uPlot sizes and draws its canvases in a microtask after it is made.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const heading = curves ? `Training curves (train: ${state.smoothing > 0 ? `smoothed ${state.smoothing.toFixed(2)} over raw` : 'solid'}; test: dotted)` : charts[0]!.spec.title;
    // The DoF chart's title is the heading: not repeated above the chart.
    const parts = curves ? hi.parts : hi.parts.map((p) => ({ ...p, title: '' }));
    const dataUrl = composePng(parts, legend, heading);
    const name = curves ? exportName(visibleRuns().map((r) => ({ ...r, skipped: 0 })), 'png') : `dof-${(selectedDofKey(currentDofGroups()) ?? 'runs').replace(/[^\w.-]+/g, '_')}.png`;
    api.postMessage({ type: 'exportPng', dataUrl, suggestedName: name });
  } finally {
    hi.destroy();
  }
}

function exportCsv(): void {
  if (state.view === 'dof') {
    const groups = currentDofGroups();
    const key = selectedDofKey(groups);
    if (!key) return;
    api.postMessage({ type: 'exportCsv', csv: dofCsv(key, groups.get(key)!), suggestedName: `dof-${key.replace(/[^\w.-]+/g, '_')}.csv` });
    return;
  }
  const runs = visibleRuns().map((r) => ({ ...r, skipped: 0 }));
  api.postMessage({ type: 'exportCsv', csv: toCsv(runs), suggestedName: exportName(runs, 'csv') });
}

function appendColumns<T extends object>(into: T, from: T): void {
  for (const k of Object.keys(from) as (keyof T)[]) {
    const target = into[k] as unknown as number[];
    for (const v of from[k] as unknown as number[]) target.push(v);
  }
}

function handle(m: CurvesToWebview): void {
  switch (m.type) {
    case 'runs': {
      available = [...m.runs];
      runsDir = m.runsDir;
      if (firstRuns && !state.selected.length && available.length) selectRuns([available[0]!.runDir], true);
      firstRuns = false;
      if (state.view === 'dof') render();
      else {
        document.querySelector('.runs')?.replaceWith(runPicker());
        renderLegend();
      }
      return;
    }
    case 'series': {
      let statusChanged = false;
      for (const s of m.series) {
        for (const k of [...prepared.keys()]) if (k.startsWith(`${s.info.runDir}|`)) prepared.delete(k);
        data.set(s.info.runDir, { info: s.info, train: { ...s.train }, eval: { ...s.eval } });
        colorOf(s.info.runDir);
        const listed = available.find((r) => r.runDir === s.info.runDir);
        if (listed && listed.status !== s.info.status) statusChanged = true;
        available = available.map((r) => (r.runDir === s.info.runDir ? { ...r, ...s.info } : r));
      }
      if (statusChanged) document.querySelector('.run-list')?.replaceWith(runPicker().querySelector('.run-list') ?? h('ul'));
      scheduleRedraw();
      return;
    }
    case 'append': {
      let ended = false;
      for (const a of m.appends) {
        const d = data.get(a.runDir);
        if (!d) continue;
        appendColumns(d.train, a.train);
        appendColumns(d.eval, a.eval);
        const update = { ...(a.status ? { status: a.status } : {}), ...(a.bestAcc !== undefined ? { bestAcc: a.bestAcc } : {}), ...(a.finalAcc !== undefined ? { finalAcc: a.finalAcc } : {}) };
        d.info = { ...d.info, ...update };
        // The run list shows the same run: a finished run loses its "live" badge there too.
        available = available.map((r) => (r.runDir === a.runDir ? { ...r, ...update } : r));
        if (a.status && a.status !== 'running') ended = true;
      }
      if (ended) document.querySelector('.run-list')?.replaceWith(runPicker().querySelector('.run-list') ?? h('ul'));
      scheduleRedraw();
      return;
    }
    case 'removed': {
      const gone = new Set(m.runDirs);
      available = available.filter((r) => !gone.has(r.runDir));
      for (const d of gone) data.delete(d);
      save({ selected: state.selected.filter((d) => !gone.has(d)), hidden: state.hidden.filter((d) => !gone.has(d)) });
      render();
      return;
    }
    case 'select': {
      const fresh = m.runDirs.filter((d) => !state.selected.includes(d));
      if (fresh.length) selectRuns(fresh, true);
      else {
        const missing = m.runDirs.filter((d) => !data.has(d));
        if (missing.length) api.postMessage({ type: 'loadRuns', runDirs: missing });
      }
      return;
    }
    case 'view':
      if (state.view !== m.view) {
        save({ view: m.view });
        render();
      }
      return;
    case 'exported':
      statusText = `Saved ${m.what.toUpperCase()} to ${m.path}.`;
      setStatus();
      return;
    case 'error':
      statusText = m.message;
      setStatus();
      return;
  }
}

let resizeTimer: number | undefined;
/** The width class the panel had at the last resize: options fold when it becomes narrow. */
let wasNarrow = isNarrow();
new ResizeObserver(() => {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    // Crossing the narrow width: the options show on a wide panel (their summary is hidden
    // there), and the run list follows the width unless the user opened or closed it.
    // Only a crossing changes them: a user who opens the options on a narrow panel keeps them.
    const narrow = isNarrow();
    const options = document.getElementById('options') as HTMLDetailsElement | null;
    if (options && narrow !== wasNarrow) options.open = !narrow;
    wasNarrow = narrow;
    const runs = document.getElementById('runs') as HTMLDetailsElement | null;
    if (runs && runsOpen === undefined && runs.open !== !isNarrow()) {
      runs.dataset['auto'] = '1'; // the toggle event this fires is the width's, not the user's
      runs.open = !isNarrow();
    }
    const host = document.getElementById(state.view === 'curves' ? 'charts' : 'view');
    const width = Math.max(260, (host?.clientWidth ?? 600) - (state.view === 'dof' ? 4 : 0));
    for (const c of charts) c.u.setSize({ width, height: c.u.height });
  }, 100);
}).observe(document.body);

onHostMessage<CurvesToWebview>(handle);
onThemeChange(() => render());
render();
api.setState(state);
api.postMessage({ type: 'ready', state });
