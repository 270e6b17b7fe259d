// Compare Runs: the Experiments table. Every run with its parameters and metrics, live while
// runs train; sort, filter, choose columns, fold seeds into mean ± std, select runs and send
// them to the training curves, open, resume or delete them; below, a metric against a
// parameter (with each method's log-linear DoF fit) or parallel coordinates; CSV, SVG and PNG.
import '../shared/base.css';
import './compare.css';
import type { CompareRow, CompareToHost, CompareToWebview, CompareViewState } from '../../../src/webview-contract';
import { count } from '../../../src/core/format/numbers';
import { clear, h } from '../shared/dom';
import { cssVar, onThemeChange } from '../shared/theme';
import { connect, onHostMessage } from '../shared/vscode-api';
import { svgToPng, svgText } from './export';
import { aggregateRows, applyFilter, COLUMN_BY_ID, columnWidth, COLUMNS, ColumnDef, ColumnId, DEFAULT_COLUMNS, exportName, METHOD_LABEL, METHODS, parseFilter, rowsToCsv, singleRow, sortRows, ViewRow } from './model';
import { fitText, parallelPlot, PlotLook, scatterPlot } from './plots';
import { VirtualTable } from './table';

const api = connect<CompareToHost, CompareViewState>();
const app = document.getElementById('app')!;

const DEFAULTS: CompareViewState = {
  sort: { column: 'startedAt', descending: true },
  filter: '',
  columns: DEFAULT_COLUMNS,
  selected: [],
  aggregate: false,
  view: 'scatter',
  plot: { x: 'dof', y: 'finalAcc', logX: 'auto', logY: 'auto' },
  axes: ['method', 'dof', 'lr', 'seed', 'durationSec', 'finalLoss', 'finalAcc'],
};
const restored = api.getState();
let state: CompareViewState = { ...DEFAULTS, ...(restored ?? {}), plot: { ...DEFAULTS.plot, ...(restored?.plot ?? {}) } };

const runs = new Map<string, CompareRow>();
let loaded = false;
let view: ViewRow[] = [];
let anchor: number | undefined;
let statusText = '';

function save(next: Partial<CompareViewState>): void {
  state = { ...state, ...next };
  api.setState(state);
}

const selected = () => new Set(state.selected);
const isSelected = (row: ViewRow, sel = selected()) => row.runs.every((r) => sel.has(r.runDir));
const visibleColumns = (): ColumnDef[] =>
  state.columns
    .map((id) => COLUMN_BY_ID.get(id as ColumnId))
    .filter((c): c is ColumnDef => !!c)
    .map((c) => ({ ...c, width: columnWidth(c, state.aggregate) }));

// ── the page ────────────────────────────────────────────────────────────────────────────────
const countLabel = h('span', { id: 'count', class: 'muted', role: 'status' });
const filterInput = h('input', { id: 'filter', type: 'search', placeholder: 'filter: acc>0.9 method:hashed lenet5', 'aria-label': 'Filter runs', spellcheck: 'false' });
const filterError = h('span', { id: 'filter-error', class: 'filter-error', role: 'alert' });
const aggregateBox = h('input', { id: 'aggregate', type: 'checkbox' });
const columnsButton = h('button', { id: 'columns-button', class: 'secondary', type: 'button', 'aria-haspopup': 'true', 'aria-expanded': 'false', 'aria-controls': 'columns-menu' }, 'Columns…');
const columnsMenu = h('div', { id: 'columns-menu', class: 'menu', role: 'group', 'aria-label': 'Columns shown' });
columnsMenu.hidden = true;
const exportCsvButton = h('button', { id: 'export-csv', class: 'secondary', type: 'button', title: 'The filtered, sorted rows and visible columns as CSV' }, 'Export CSV');
const refreshButton = h('button', { id: 'refresh', class: 'secondary', type: 'button', title: 'Scan the runs folders again' }, 'Refresh');

const selectionLabel = h('span', { id: 'selection', class: 'muted' });
const curvesButton = h('button', { id: 'show-curves', type: 'button', title: 'Plot the selected runs in the training curves (Enter)' }, 'Show in curves');
const folderButton = h('button', { id: 'open-folder', class: 'secondary', type: 'button' }, 'Open folder');
const resumeButton = h('button', { id: 'resume', class: 'secondary', type: 'button' }, 'Resume');
const deleteButton = h('button', { id: 'delete', class: 'secondary', type: 'button' }, 'Delete');
const clearButton = h('button', { id: 'clear-selection', class: 'link', type: 'button' }, 'Clear');

const table = new VirtualTable({
  onSort: (column) => {
    const descending = state.sort.column === column ? !state.sort.descending : COLUMN_BY_ID.get(column)!.numeric;
    save({ sort: { column, descending } });
    table.setColumns(visibleColumns(), state.sort);
    rebuild();
  },
  onSelect: (index, mode) => selectAt(index, mode),
  onActivate: (index) => {
    const row = view[index];
    if (row && !isSelected(row)) selectAt(index, 'only');
    showCurves();
  },
  onSelectAll: () => setSelection(view.flatMap((r) => r.runs.map((x) => x.runDir))),
});

const tabScatter = h('button', { id: 'tab-scatter', type: 'button', role: 'tab' }, 'Metric vs parameter');
const tabParallel = h('button', { id: 'tab-parallel', type: 'button', role: 'tab' }, 'Parallel coordinates');
const plotControls = h('div', { class: 'plot-controls' });
const plotBox = h('div', { id: 'plot', class: 'plot' });
const legend = h('div', { id: 'legend', class: 'legend' });
const fitList = h('ul', { id: 'fits', class: 'fits' });
const plotNote = h('p', { id: 'plot-note', class: 'muted' });
const exportSvgButton = h('button', { id: 'export-svg', class: 'secondary', type: 'button' }, 'SVG');
const exportPngButton = h('button', { id: 'export-png', class: 'secondary', type: 'button' }, 'PNG');
const exportPlotCsvButton = h('button', { id: 'export-plot-csv', class: 'secondary', type: 'button', title: 'The plotted values as CSV' }, 'CSV');
const status = h('p', { id: 'status', class: 'status', role: 'status' });
const errorBox = h('div', { id: 'error', class: 'error', role: 'alert' });
errorBox.hidden = true;

function layout(): void {
  clear(app);
  app.removeAttribute('aria-busy');
  app.append(
    h('div', { class: 'toolbar' },
      h('h1', { class: 'title' }, 'Runs ', countLabel),
      filterInput,
      filterError,
      h('label', { title: 'Runs that differ only in their seed as one row: metrics as mean ± std' }, aggregateBox, 'Mean ± std over seeds'),
      h('span', { class: 'menu-anchor' }, columnsButton, columnsMenu),
      exportCsvButton,
      refreshButton,
    ),
    h('div', { class: 'selection-bar' }, selectionLabel, curvesButton, folderButton, resumeButton, deleteButton, clearButton),
    errorBox,
    table.element,
    h('section', { class: 'plots', 'aria-label': 'Plots of the filtered runs' },
      h('div', { class: 'plot-head' }, h('div', { class: 'tabs', role: 'tablist' }, tabScatter, tabParallel), plotControls, h('span', { class: 'exports' }, 'Export ', exportSvgButton, exportPngButton, exportPlotCsvButton)),
      plotBox,
      legend,
      fitList,
      plotNote,
    ),
    status,
  );
}

// ── data pipeline: runs → (seeds folded) → filtered → sorted ────────────────────────────────
let rebuildPending = false;
function scheduleRebuild(): void {
  if (rebuildPending) return;
  rebuildPending = true;
  requestAnimationFrame(() => {
    rebuildPending = false;
    rebuild();
  });
}

function rebuild(): void {
  const all = [...runs.values()];
  const base = state.aggregate ? aggregateRows(all) : all.map(singleRow);
  const filter = parseFilter(state.filter);
  filterError.textContent = filter.errors.join('; ');
  const filtered = applyFilter(base, filter);
  view = sortRows(filtered, (COLUMN_BY_ID.has(state.sort.column as ColumnId) ? state.sort.column : 'startedAt') as ColumnId, state.sort.descending);
  table.setRows(view, (r) => isSelected(r));
  const shown = view.reduce((s, r) => s + r.runs.length, 0);
  countLabel.textContent = loaded ? (shown === runs.size ? `${count(runs.size)} runs` : `${count(shown)} of ${count(runs.size)} runs`) + (state.aggregate ? ` in ${count(view.length)} rows` : '') : 'loading…';
  updateSelectionBar();
  schedulePlot();
}

// ── selection ───────────────────────────────────────────────────────────────────────────────
function setSelection(dirs: Iterable<string>): void {
  save({ selected: [...new Set(dirs)] });
  table.refreshSelection();
  updateSelectionBar();
  schedulePlot();
}

function selectAt(index: number, mode: 'only' | 'toggle' | 'range'): void {
  const row = view[index];
  if (!row) return;
  const sel = selected();
  const dirs = row.runs.map((r) => r.runDir);
  if (mode === 'only') {
    anchor = index;
    setSelection(dirs);
  } else if (mode === 'toggle') {
    anchor = index;
    const on = !isSelected(row, sel);
    for (const d of dirs) on ? sel.add(d) : sel.delete(d);
    setSelection(sel);
  } else {
    const from = anchor ?? index;
    const [lo, hi] = from <= index ? [from, index] : [index, from];
    for (let i = lo; i <= hi; i++) for (const r of view[i]!.runs) sel.add(r.runDir);
    setSelection(sel);
  }
}

function selectedRuns(): CompareRow[] {
  const sel = selected();
  return [...runs.values()].filter((r) => sel.has(r.runDir));
}

function updateSelectionBar(): void {
  const sel = selectedRuns();
  selectionLabel.textContent = sel.length ? `${count(sel.length)} selected` : 'Select runs (click, Ctrl/Cmd-click, Shift-click, Space) to compare them';
  curvesButton.disabled = !sel.length;
  folderButton.disabled = sel.length !== 1;
  resumeButton.disabled = !(sel.length === 1 && sel[0]!.hasCheckpoint && (sel[0]!.status === 'stopped' || sel[0]!.status === 'failed'));
  deleteButton.disabled = !sel.length || sel.some((r) => r.status === 'running' || r.status === 'queued');
  clearButton.hidden = !sel.length;
  curvesButton.textContent = sel.length ? `Show ${sel.length} in curves` : 'Show in curves';
}

function showCurves(): void {
  const dirs = selectedRuns().map((r) => r.runDir);
  if (dirs.length) api.postMessage({ type: 'showCurves', runDirs: dirs });
}

// ── columns chooser ─────────────────────────────────────────────────────────────────────────
function renderColumnsMenu(): void {
  const shown = new Set(state.columns);
  const groups: [string, ColumnDef[]][] = [['Run', COLUMNS.filter((c) => c.group === 'run')], ['Config', COLUMNS.filter((c) => c.group === 'config')], ['Metrics', COLUMNS.filter((c) => c.group === 'metric')]];
  clear(columnsMenu);
  for (const [title, cols] of groups) {
    columnsMenu.append(h('h3', {}, title));
    for (const c of cols) {
      const box = h('input', { type: 'checkbox', 'data-column': c.id, ...(shown.has(c.id) ? { checked: true } : {}) });
      box.addEventListener('change', () => {
        // Keep the registry's order, so a column comes back where it was.
        const next = new Set(state.columns);
        box.checked ? next.add(c.id) : next.delete(c.id);
        save({ columns: COLUMNS.map((x) => x.id).filter((id) => next.has(id)) });
        table.setColumns(visibleColumns(), state.sort);
        rebuild();
      });
      columnsMenu.append(h('label', { title: c.title }, box, c.label));
    }
  }
  const reset = h('button', { class: 'link', type: 'button' }, 'Default columns');
  reset.addEventListener('click', () => {
    save({ columns: DEFAULT_COLUMNS });
    renderColumnsMenu();
    table.setColumns(visibleColumns(), state.sort);
    rebuild();
  });
  columnsMenu.append(reset);
}

function toggleColumnsMenu(open = columnsMenu.hidden): void {
  columnsMenu.hidden = !open;
  columnsButton.setAttribute('aria-expanded', String(open));
  if (open) {
    renderColumnsMenu();
    (columnsMenu.querySelector('input') as HTMLInputElement | null)?.focus();
  }
}

// ── plots ───────────────────────────────────────────────────────────────────────────────────
function look(): PlotLook {
  const fg = cssVar('--vscode-foreground', '#cccccc');
  return {
    fg,
    muted: cssVar('--vscode-descriptionForeground', '#9d9d9d'),
    grid: cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.25)'),
    bg: cssVar('--vscode-editor-background', '#1e1e1e'),
    font: cssVar('--vscode-font-family', 'sans-serif'),
    colors: {
      rpg: cssVar('--vscode-charts-blue', '#3794ff'),
      subspace: cssVar('--vscode-charts-green', '#89d185'),
      hashed: cssVar('--vscode-charts-orange', '#d18616'),
      width: cssVar('--vscode-charts-purple', '#b180d7'),
      plain: cssVar('--vscode-charts-red', '#f14c4c'),
    },
  };
}

let plotPending = false;
let currentSvg: SVGSVGElement | undefined;
let plotCsv = '';
function schedulePlot(): void {
  if (plotPending) return;
  plotPending = true;
  requestAnimationFrame(() => {
    plotPending = false;
    drawPlot();
  });
}

function columnOptions(select: HTMLSelectElement, numericOnly: boolean, value: string): void {
  clear(select);
  for (const c of COLUMNS.filter((x) => x.numeric || !numericOnly)) select.append(h('option', { value: c.id, ...(c.id === value ? { selected: true } : {}) }, c.label));
}

function logSelect(id: string, value: 'auto' | 'on' | 'off', label: string, onChange: (v: 'auto' | 'on' | 'off') => void): HTMLElement {
  const s = h('select', { id }, ...(['auto', 'on', 'off'] as const).map((v) => h('option', { value: v, ...(v === value ? { selected: true } : {}) }, v)));
  s.addEventListener('change', () => onChange(s.value as 'auto' | 'on' | 'off'));
  return h('label', {}, label, s);
}

function renderPlotControls(): void {
  clear(plotControls);
  const scatter = state.view === 'scatter';
  tabScatter.setAttribute('aria-selected', String(scatter));
  tabParallel.setAttribute('aria-selected', String(!scatter));
  tabScatter.className = scatter ? '' : 'secondary';
  tabParallel.className = scatter ? 'secondary' : '';
  if (scatter) {
    const xs = h('select', { id: 'plot-x' });
    const ys = h('select', { id: 'plot-y' });
    columnOptions(xs, true, state.plot.x);
    columnOptions(ys, true, state.plot.y);
    xs.addEventListener('change', () => (save({ plot: { ...state.plot, x: xs.value } }), schedulePlot()));
    ys.addEventListener('change', () => (save({ plot: { ...state.plot, y: ys.value } }), schedulePlot()));
    plotControls.append(
      h('label', {}, 'x', xs),
      logSelect('log-x', state.plot.logX, 'log x', (v) => (save({ plot: { ...state.plot, logX: v } }), schedulePlot())),
      h('label', {}, 'y', ys),
      logSelect('log-y', state.plot.logY, 'log y', (v) => (save({ plot: { ...state.plot, logY: v } }), schedulePlot())),
    );
  } else {
    const chips = h('span', { id: 'axes', class: 'chips' });
    for (const id of state.axes) {
      const c = COLUMN_BY_ID.get(id as ColumnId);
      if (!c) continue;
      const remove = h('button', { class: 'chip', type: 'button', title: `Remove the ${c.label} axis`, 'data-axis': id }, `${c.label} ×`);
      remove.addEventListener('click', () => {
        save({ axes: state.axes.filter((a) => a !== id) });
        renderPlotControls();
        schedulePlot();
      });
      chips.append(remove);
    }
    const add = h('select', { id: 'add-axis', 'aria-label': 'Add an axis' }, h('option', { value: '' }, 'add axis…'), ...COLUMNS.filter((c) => !state.axes.includes(c.id)).map((c) => h('option', { value: c.id }, c.label)));
    add.addEventListener('change', () => {
      if (!add.value) return;
      save({ axes: [...state.axes, add.value] });
      renderPlotControls();
      schedulePlot();
    });
    plotControls.append(h('span', { class: 'muted' }, 'Axes '), chips, add);
  }
}

function drawPlot(): void {
  const width = Math.max(320, Math.floor(plotBox.clientWidth || 800));
  const height = 340;
  const lk = look();
  clear(legend);
  clear(fitList);
  plotNote.textContent = '';
  const methods = new Set(view.map((r) => r.runs[0]!.method));
  for (const m of METHODS) if (methods.has(m)) legend.append(h('span', { class: `legend-item method-${m}` }, h('span', { class: `swatch ${m === 'rpg' ? 'round' : 'square'}`, 'data-method': m }), METHOD_LABEL[m]));
  // Swatch colours come from the same theme variables (CSS classes), so nothing inline is needed.
  if (state.view === 'scatter') {
    const x = COLUMN_BY_ID.get(state.plot.x as ColumnId) ?? COLUMN_BY_ID.get('dof')!;
    const y = COLUMN_BY_ID.get(state.plot.y as ColumnId) ?? COLUMN_BY_ID.get('finalAcc')!;
    const result = scatterPlot({ rows: view, x, y, logX: state.plot.logX, logY: state.plot.logY, selected: selected(), width, height, look: lk });
    currentSvg = result.element;
    for (const f of result.fits) fitList.append(h('li', { class: `fit-text method-${f.method}` }, `${METHOD_LABEL[f.method]}: ${y.label} ≈ ${fitText(f.fit, x.id)}, n = ${f.fit.n}`));
    if (!result.points.length) plotNote.textContent = `No run has both ${x.label} and ${y.label}${result.logX || result.logY ? ' (positive, for the log axis)' : ''}.`;
    plotCsv = rowsToCsv(result.points.map((p) => p.row), ['name', 'method', x.id, y.id, 'seed'], state.aggregate);
  } else {
    const sel = selected();
    const chosen = view.filter((r) => r.runs.some((x) => sel.has(x.runDir)));
    const rows = chosen.length >= 2 ? chosen : view;
    const axes = state.axes.map((id) => COLUMN_BY_ID.get(id as ColumnId)).filter((c): c is ColumnDef => !!c);
    currentSvg = parallelPlot({ rows, axes, width, height: 360, look: lk });
    plotNote.textContent = chosen.length >= 2 ? `${count(rows.length)} selected rows.` : `All ${count(rows.length)} filtered rows; select two or more to compare just those.`;
    plotCsv = rowsToCsv(rows, axes.map((c) => c.id), state.aggregate);
  }
  plotBox.replaceChildren(currentSvg);
}

plotBox.addEventListener('click', (e) => {
  const key = (e.target as Element).closest?.('[data-key]')?.getAttribute('data-key');
  const index = key ? view.findIndex((r) => r.key === key) : -1;
  if (index < 0) return;
  table.setActive(index);
  selectAt(index, (e as MouseEvent).ctrlKey || (e as MouseEvent).metaKey ? 'toggle' : 'only');
});

// ── exports ─────────────────────────────────────────────────────────────────────────────────
function setStatus(text: string): void {
  statusText = text;
  status.textContent = statusText;
}

function plotName(): string {
  return state.view === 'scatter' ? `${state.plot.y}-vs-${state.plot.x}` : 'parallel-coordinates';
}

exportCsvButton.addEventListener('click', () => {
  api.postMessage({ type: 'exportCsv', csv: rowsToCsv(view, visibleColumns().map((c) => c.id), state.aggregate), suggestedName: exportName('runs', 'csv') });
});
exportSvgButton.addEventListener('click', () => {
  if (currentSvg) api.postMessage({ type: 'exportSvg', svg: svgText(currentSvg), suggestedName: exportName(plotName(), 'svg') });
});
exportPngButton.addEventListener('click', async () => {
  if (!currentSvg) return;
  try {
    const dataUrl = await svgToPng(currentSvg, 2);
    api.postMessage({ type: 'exportPng', dataUrl, suggestedName: exportName(plotName(), 'png') });
  } catch (err) {
    setStatus(`PNG export failed: ${(err as Error).message}`);
  }
});
exportPlotCsvButton.addEventListener('click', () => {
  api.postMessage({ type: 'exportCsv', csv: plotCsv, suggestedName: exportName(plotName(), 'csv') });
});

// ── wiring ──────────────────────────────────────────────────────────────────────────────────
let filterTimer: number | undefined;
filterInput.addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = window.setTimeout(() => {
    save({ filter: filterInput.value });
    rebuild();
  }, 120);
});
aggregateBox.addEventListener('change', () => {
  save({ aggregate: aggregateBox.checked });
  table.setColumns(visibleColumns(), state.sort);
  rebuild();
});
columnsButton.addEventListener('click', () => toggleColumnsMenu());
columnsMenu.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    toggleColumnsMenu(false);
    columnsButton.focus();
  }
});
document.addEventListener('click', (e) => {
  if (!columnsMenu.hidden && !(e.target as Element).closest?.('.menu-anchor')) toggleColumnsMenu(false);
});
refreshButton.addEventListener('click', () => api.postMessage({ type: 'refresh' }));
curvesButton.addEventListener('click', showCurves);
folderButton.addEventListener('click', () => {
  const [r] = selectedRuns();
  if (r) api.postMessage({ type: 'openFolder', runDir: r.runDir });
});
resumeButton.addEventListener('click', () => {
  const [r] = selectedRuns();
  if (r) api.postMessage({ type: 'resume', runDir: r.runDir });
});
deleteButton.addEventListener('click', () => {
  const dirs = selectedRuns().map((r) => r.runDir);
  if (dirs.length) api.postMessage({ type: 'delete', runDirs: dirs });
});
clearButton.addEventListener('click', () => setSelection([]));
tabScatter.addEventListener('click', () => {
  save({ view: 'scatter' });
  renderPlotControls();
  schedulePlot();
});
tabParallel.addEventListener('click', () => {
  save({ view: 'parallel' });
  renderPlotControls();
  schedulePlot();
});
new ResizeObserver(() => schedulePlot()).observe(plotBox);
onThemeChange(() => schedulePlot());

onHostMessage<CompareToWebview>((m) => {
  switch (m.type) {
    case 'rows': {
      runs.clear();
      for (const r of m.rows) runs.set(r.runDir, r);
      loaded = true;
      errorBox.hidden = true;
      // Runs that are gone leave the selection.
      if (state.selected.some((d) => !runs.has(d))) save({ selected: state.selected.filter((d) => runs.has(d)) });
      rebuild();
      return;
    }
    case 'upsert':
      for (const r of m.rows) runs.set(r.runDir, r);
      scheduleRebuild();
      return;
    case 'remove':
      for (const d of m.runDirs) runs.delete(d);
      if (state.selected.some((d) => !runs.has(d))) save({ selected: state.selected.filter((d) => runs.has(d)) });
      scheduleRebuild();
      return;
    case 'exported':
      setStatus(`Saved ${m.what.toUpperCase()} to ${m.path}`);
      return;
    case 'error':
      errorBox.textContent = m.message;
      errorBox.hidden = false;
      return;
  }
});

layout();
filterInput.value = state.filter;
aggregateBox.checked = state.aggregate;
table.setColumns(visibleColumns(), state.sort);
renderPlotControls();
rebuild();
api.postMessage({ type: 'ready', state });

