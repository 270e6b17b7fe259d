// Training curves webview: pick runs (from the runs folder list, or sent by the Experiments
// tree), plot loss / accuracy (train solid, val dashed), learning rate and samples/s against
// step, epoch or time; live rows append while a run trains. A second view plots best accuracy
// against DoF (log x) per architecture/dataset with the fit acc ≈ a + b·ln DoF.
import '../shared/base.css';
import './curves.css';
import type uPlot from 'uplot';
import type { CurvesToHost, CurvesToWebview, CurvesViewState, EvalColumns, RunInfo, TrainColumns, XAxis } from '../../../src/webview-contract';
import { clear, h } from '../shared/dom';
import { count, percent } from '../../../src/core/format/numbers';
import { onThemeChange, palette } from '../shared/theme';
import { connect, onHostMessage } from '../shared/vscode-api';
import { ChartSpec, composePng, createChart, SeriesSpec, XSync } from './charts';
import { Column, compactNumber, decimateM4, dofGroups, emaSmooth, exportName, joinTables, logLinearFit, runLabel, sortedUnique, toCsv, xOf, XYTable } from './transforms';

const api = connect<CurvesToHost, CurvesViewState>();
const app = document.getElementById('app')!;

const DEFAULTS: CurvesViewState = { selected: [], hidden: [], xAxis: 'step', logY: false, smoothing: 0, view: 'curves', showTrain: true, showVal: true };
const restored = api.getState();
let state: CurvesViewState = { ...DEFAULTS, ...(restored ?? {}) };
let available: RunInfo[] = [];
let runsDir: string | undefined;
let firstRuns = !restored;
let dofGroupKey: string | undefined;
let filter = '';
let statusText = '';

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
  let col: Column = smoothing > 0 ? emaSmooth(sorted.ys[0]!, smoothing) : sorted.ys[0]!;
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
  const spec = (id: string, title: string, yLabel: string, metric: Metric, withVal: boolean, logY: boolean, smooth: boolean, yFormat?: (v: number) => string): ChartSpec => {
    const tables: XYTable[] = [];
    const series: SeriesSpec[] = [];
    for (const r of runs) {
      const show = !state.hidden.includes(r.info.runDir);
      const color = colorOf(r.info.runDir);
      if (state.showTrain || !withVal) {
        tables.push(table(`${r.info.runDir}|train|${metric}|${x}`, xOf(r.train, x), r.train[metric], smooth ? state.smoothing : 0, logY, width));
        series.push({ label: `${runLabel(r.info)}${withVal ? ' train' : ''}`, color, show });
      }
      if (withVal && state.showVal && (metric === 'loss' || metric === 'acc')) {
        tables.push(table(`${r.info.runDir}|eval|${metric}|${x}`, xOf(r.eval, x), r.eval[metric], 0, logY, width));
        series.push({ label: `${runLabel(r.info)} val`, color, dashed: true, show });
      }
    }
    return { id, title, xLabel, yLabel, logY, series, data: joinTables(tables), height: width < 500 ? 180 : 220, ...(yFormat ? { yFormat } : {}) };
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
  const runs = new Set(spec.series.map((s) => s.label.replace(/ (train|val)$/, ''))).size;
  return `${spec.title} against ${spec.xLabel} for ${runs} run${runs === 1 ? '' : 's'}. Focus the chart, then: arrow keys pan, plus and minus zoom, 0 resets.`;
}

/** Builds the charts, or (same runs, series and axes) only swaps their data in. */
function drawCharts(host: HTMLElement): void {
  if (!visibleRuns().length) {
    destroyCharts();
    clear(host);
    host.append(h('p', { class: 'placeholder' }, state.selected.length ? 'Loading runs…' : 'No run picked yet.'));
    return;
  }
  const width = Math.max(320, host.clientWidth || 600);
  const specs = chartSpecs(width);
  const key = structureKey(specs);
  if (key === chartsKey && charts.length === specs.length && charts[0]?.figure.isConnected) {
    specs.forEach((spec, i) => {
      const c = charts[i]!;
      c.spec = spec;
      c.u.setData(spec.data as uPlot.AlignedData, !sync.zoom);
      if (sync.zoom) c.u.setScale('x', sync.zoom);
      c.figure.setAttribute('aria-label', describe(spec));
    });
    return;
  }
  destroyCharts();
  clear(host);
  chartsKey = key;
  for (const spec of specs) {
    const figure = h('figure', { class: 'chart', id: `chart-${spec.id}`, tabindex: 0, role: 'img', 'aria-label': describe(spec) }, h('figcaption', {}, spec.title));
    host.append(figure);
    const u = createChart(spec, figure, width, sync, () => undefined);
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
    save({ xAxis: xSel.value as XAxis });
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
    save({ smoothing: Number(smoothing.value) });
    scheduleRedraw();
  });
  const png = h('button', { class: 'secondary', id: 'export-png' }, 'Export PNG');
  png.addEventListener('click', exportPng);
  const csv = h('button', { class: 'secondary', id: 'export-csv' }, 'Export CSV');
  csv.addEventListener('click', () => {
    const runs = visibleRuns().map((r) => ({ ...r, skipped: 0 }));
    api.postMessage({ type: 'exportCsv', csv: toCsv(runs), suggestedName: exportName(runs, 'csv') });
  });
  const curvesOnly = state.view === 'curves';
  return h('header', { class: 'toolbar' }, h('h1', { class: 'title' }, 'Training curves'), tabs,
    curvesOnly && h('label', { for: 'x-axis' }, 'x', xSel),
    curvesOnly && check('log-y', 'Log scale (loss, lr)', state.logY, (v) => save({ logY: v })),
    curvesOnly && check('show-train', 'Train', state.showTrain, (v) => save({ showTrain: v })),
    curvesOnly && check('show-val', 'Val', state.showVal, (v) => save({ showVal: v })),
    curvesOnly && h('label', { for: 'smoothing' }, 'Smoothing', smoothing, smoothingValue),
    png, csv);
}

function runPicker(): HTMLElement {
  const list = h('ul', { class: 'run-list', 'aria-label': 'Runs found' });
  const shown = available.filter((r) => !filter || `${r.name} ${r.runId} ${r.arch} ${r.dataset}`.toLowerCase().includes(filter.toLowerCase()));
  for (const r of shown) {
    const id = `run-${available.indexOf(r)}`;
    const input = h('input', { type: 'checkbox', id, checked: state.selected.includes(r.runDir), 'data-run': r.runDir });
    input.addEventListener('change', () => selectRuns([r.runDir], input.checked));
    list.append(h('li', { class: 'run-item' }, h('label', { for: id, title: r.runDir }, input,
      h('span', { class: 'run-name' }, r.name), h('span', { class: 'muted' }, ` ${r.runId} · DoF ${compactNumber(r.dof)}${r.bestAcc !== undefined ? ` · ${percent(r.bestAcc)}` : ''}`),
      r.status === 'running' && h('span', { class: 'badge' }, 'live'))));
  }
  const search = h('input', { type: 'search', id: 'run-filter', placeholder: 'Filter runs', 'aria-label': 'Filter runs', value: filter });
  search.addEventListener('input', () => {
    filter = search.value;
    const old = document.querySelector('.run-list');
    const fresh = runPicker().querySelector('.run-list')!;
    old?.replaceWith(fresh);
  });
  const refresh = h('button', { class: 'secondary', id: 'refresh-runs' }, 'Refresh');
  refresh.addEventListener('click', () => api.postMessage({ type: 'refreshRuns' }));
  return h('aside', { class: 'runs', 'aria-label': 'Runs' },
    h('div', { class: 'runs-head' }, h('h2', {}, `Runs (${available.length})`), refresh),
    search,
    available.length ? list : h('p', { class: 'placeholder' }, runsDir ? `No runs under ${runsDir} yet. Train a config and its run appears here.` : 'Open a workspace folder to list its runs.'));
}

function renderLegend(): void {
  const host = document.getElementById('legend');
  if (!host) return;
  clear(host);
  const runs = state.selected.map((d) => infoOf(d)).filter((r): r is RunInfo => r !== undefined);
  for (const r of runs) {
    const hidden = state.hidden.includes(r.runDir);
    const d = data.get(r.runDir);
    const b = h('button', { class: 'legend-item', 'aria-pressed': String(!hidden), title: `${hidden ? 'Show' : 'Hide'} ${r.name} (${r.runDir})`, 'data-run': r.runDir },
      h('span', { class: 'swatch', 'aria-hidden': 'true' }), runLabel(r),
      h('span', { class: 'muted' }, ` · ${d ? count(d.train.step.length) : '…'} pts${r.status === 'running' ? ' · live' : ''}`));
    b.querySelector<HTMLElement>('.swatch')!.style.background = colorOf(r.runDir);
    b.addEventListener('click', () => {
      const set = new Set(state.hidden);
      hidden ? set.delete(r.runDir) : set.add(r.runDir);
      save({ hidden: [...set] });
      scheduleRedraw();
    });
    host.append(b);
  }
  if (!runs.length) host.append(h('span', { class: 'muted' }, 'Pick runs on the left to compare them.'));
}

function setStatus(): void {
  const el = document.getElementById('status');
  if (!el) return;
  const n = pointCount();
  el.textContent = `${visibleRuns().length} run(s), ${count(n)} points. Drag to zoom, wheel to zoom, shift+wheel to pan, double-click to reset.${statusText ? ` ${statusText}` : ''}`;
}

function dofView(host: HTMLElement): void {
  // Every known run (run.json has bestAcc), with loaded eval rows where run.json has none.
  const pool = new Map<string, { info: RunInfo; eval?: { acc: number[] } }>();
  for (const r of available) pool.set(r.runDir, { info: r });
  for (const [dir, d] of data) pool.set(dir, { info: d.info, eval: d.eval });
  const groups = dofGroups([...pool.values()]);
  if (!groups.size) {
    host.append(h('p', { class: 'placeholder' }, 'No finished runs with an accuracy yet.'));
    return;
  }
  const keys = [...groups.keys()];
  const selectedKey = dofGroupKey && groups.has(dofGroupKey) ? dofGroupKey : keys.sort((a, b) => groups.get(b)!.length - groups.get(a)!.length)[0]!;
  const sel = h('select', { id: 'dof-group', 'aria-label': 'Architecture and dataset' }, ...keys.map((k) => h('option', { value: k, selected: k === selectedKey }, `${k} (${groups.get(k)!.length} runs)`)));
  sel.addEventListener('change', () => {
    dofGroupKey = sel.value;
    render();
  });
  const points = groups.get(selectedKey)!;
  const fit = logLinearFit(points);
  const xs = points.map((p) => p.dof);
  const [runColor, fitColor] = palette(2);
  const fitY = xs.map((x) => (fit ? fit.a + fit.b * Math.log(x) : null));
  const spec: ChartSpec = {
    id: 'dof', title: `Best accuracy vs DoF: ${selectedKey}`, xLabel: 'DoF (log)', yLabel: 'best accuracy', logX: true,
    series: [{ label: 'runs', color: runColor!, pointsOnly: true }, ...(fit ? [{ label: 'fit', color: fitColor!, dashed: true }] : [])],
    data: [xs, points.map((p) => p.acc), ...(fit ? [fitY] : [])], height: 300, yFormat: (v) => percent(v, 0),
  };
  const fitText = fit
    ? `acc ≈ ${fit.a.toFixed(4)} + ${fit.b.toFixed(4)}·ln DoF   (R² = ${fit.r2.toFixed(3)}, n = ${fit.n})`
    : `The log-linear fit needs at least 3 runs at different DoF (${points.length} here).`;
  const figure = h('figure', { class: 'chart', id: 'chart-dof', tabindex: 0, role: 'img', 'aria-label': `${spec.title}. ${fitText}` }, h('figcaption', {}, spec.title));
  host.append(h('div', { class: 'dof-head' }, h('label', { for: 'dof-group' }, 'Runs of', sel), h('p', { class: 'fit', id: 'fit' }, fitText)), figure);
  destroyCharts();
  const u = createChart(spec, figure, Math.max(320, host.clientWidth || 600), sync, () => undefined);
  charts = [{ spec, u, figure }];
  chartsKey = 'dof';
  host.append(h('table', { class: 'dof-table', 'aria-label': 'Runs in the DoF view' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Run'), h('th', { class: 'num' }, 'DoF'), h('th', { class: 'num' }, 'Best acc'), h('th', { class: 'num' }, 'Fit'))),
    h('tbody', {}, ...points.map((p) => h('tr', {}, h('td', {}, p.label), h('td', { class: 'num' }, count(p.dof)), h('td', { class: 'num' }, percent(p.acc, 2)),
      h('td', { class: 'num' }, fit ? percent(fit.a + fit.b * Math.log(p.dof), 2) : '—'))))));
}

function render(): void {
  destroyCharts();
  clear(app);
  app.setAttribute('aria-busy', 'false');
  const view = h('section', { id: 'view', role: 'tabpanel', 'aria-labelledby': `tab-${state.view}`, class: 'view' });
  app.append(toolbar(), h('div', { class: 'body' }, runPicker(), view));
  if (state.view === 'dof') dofView(view);
  else {
    view.append(h('div', { id: 'legend', class: 'legend', role: 'group', 'aria-label': 'Legend: toggle a run' }), h('div', { id: 'charts', class: 'charts' }));
    renderLegend();
    drawCharts(document.getElementById('charts')!);
  }
  view.append(h('p', { class: 'status', id: 'status' }));
  setStatus();
}

function exportPng(): void {
  if (!charts.length) return;
  const legend = state.view === 'curves'
    ? visibleRuns().filter((r) => !state.hidden.includes(r.info.runDir)).map((r) => ({ label: runLabel(r.info), color: colorOf(r.info.runDir) }))
    : [];
  const dataUrl = composePng(charts.map((c) => ({ title: c.spec.title, canvas: c.u.ctx.canvas })), legend, state.view === 'curves' ? 'Training curves (train solid, val dashed)' : charts[0]!.spec.title);
  api.postMessage({ type: 'exportPng', dataUrl, suggestedName: exportName(visibleRuns().map((r) => ({ ...r, skipped: 0 })), 'png') });
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
    case 'series':
      for (const s of m.series) {
        for (const k of [...prepared.keys()]) if (k.startsWith(`${s.info.runDir}|`)) prepared.delete(k);
        data.set(s.info.runDir, { info: s.info, train: { ...s.train }, eval: { ...s.eval } });
        colorOf(s.info.runDir);
      }
      scheduleRedraw();
      return;
    case 'append':
      for (const a of m.appends) {
        const d = data.get(a.runDir);
        if (!d) continue;
        appendColumns(d.train, a.train);
        appendColumns(d.eval, a.eval);
        if (a.status) d.info = { ...d.info, status: a.status };
        if (a.bestAcc !== undefined) d.info = { ...d.info, bestAcc: a.bestAcc };
      }
      scheduleRedraw();
      return;
    case 'select': {
      const fresh = m.runDirs.filter((d) => !state.selected.includes(d));
      if (fresh.length) selectRuns(fresh, true);
      else {
        const missing = m.runDirs.filter((d) => !data.has(d));
        if (missing.length) api.postMessage({ type: 'loadRuns', runDirs: missing });
      }
      return;
    }
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
new ResizeObserver(() => {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    const host = document.getElementById(state.view === 'curves' ? 'charts' : 'view');
    const width = Math.max(320, host?.clientWidth ?? 600);
    for (const c of charts) c.u.setSize({ width, height: c.u.height });
  }, 100);
}).observe(document.body);

onHostMessage<CurvesToWebview>(handle);
onThemeChange(() => render());
render();
api.setState(state);
api.postMessage({ type: 'ready', state });
