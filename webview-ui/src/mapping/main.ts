// Ring mapping webview: the ring of M entries as a circle; each generated layer is a track of
// arcs over the ring ranges it fetches (pale full track = whole wraps). Hover a layer for its
// numbers, click to select it (detail view) and reveal it in the Layers tree and the config.
import '../shared/base.css';
import './mapping.css';
import type { LayerWeightsResult, PlanLayer, PlanResult } from '../../../src/core/experiment/types';
import type { MappingToHost, MappingToWebview, MappingViewState } from '../../../src/webview-contract';
import { clear, h, rovingFocus, svg } from '../shared/dom';
import { count, percent } from '../../../src/core/format/numbers';
import { isHighContrast, onThemeChange, palette, rgbVar } from '../shared/theme';
import { connect, onHostMessage } from '../shared/vscode-api';
import { annulusPath, layoutRing, ringCoverage, RingLayout } from './layout';
import { downsampleGrid, heatmapPixels, histogramBars, symmetricLimit } from './weights';

/** When this page's script started (for the open-time breakdown). */
const scriptStartedAt = Date.now();
const api = connect<MappingToHost, MappingViewState>();
const app = document.getElementById('app')!;
const RING_SIZE_PX = 440;
const COVERAGE_BINS = 360;

let state: MappingViewState = api.getState() ?? {};
let plan: PlanResult | undefined;
let runDir: string | undefined;
let openedAt = 0;
let planMs: number | undefined;
let planArrivedAt = 0;
/** How long the last render() took (building the ring and the list; layout and paint follow). */
let renderMs = 0;
let reported = false;
const weights = new Map<string, LayerWeightsResult>();
const requested = new Set<string>();
let hoverTimer: number | undefined;

const tooltip = h('div', { class: 'tooltip', role: 'tooltip', id: 'layer-tip', hidden: true });

function save(next: Partial<MappingViewState>): void {
  state = { ...state, ...next };
  api.setState(state);
}

function requestWeights(layer: string): void {
  if (weights.has(layer) || requested.has(layer)) return;
  requested.add(layer);
  api.postMessage({ type: 'requestWeights', layer });
}

function fmt(v: number, digits = 3): string {
  return Math.abs(v) >= 1000 ? count(Math.round(v)) : Number(v.toPrecision(digits)).toString();
}

function layerFacts(l: PlanLayer, ringSize: number): [string, string][] {
  const w = weights.get(l.name);
  return [
    ['shape', l.shape.join(' × ')],
    ['params', count(l.params)],
    ['share of ring', ringSize ? percent(Math.min(1, l.distinctEntries / ringSize)) : '—'],
    ['reuse', `×${fmt(l.reuse)}${l.fullWraps ? ` (${l.fullWraps} full wrap${l.fullWraps > 1 ? 's' : ''})` : ''}`],
    ['scale', fmt(l.scale)],
    ['init std', fmt(l.initStd)],
    ['sign balance', w ? `${percent(w.signBalance)} positive` : '…'],
  ];
}

function factList(facts: [string, string][]): HTMLDListElement {
  return h('dl', {}, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** The open tooltip: its layer, where it shows, and the element it belongs to when keyboard focus opened it. */
let tipAt: { layer: PlanLayer; x: number; y: number; anchor?: HTMLElement } | undefined;

function showTip(l: PlanLayer, x: number, y: number, anchor?: HTMLElement): void {
  if (!plan) return;
  tipAt = { layer: l, x, y, ...(anchor ? { anchor } : {}) };
  clear(tooltip);
  tooltip.append(h('strong', {}, l.name), factList(layerFacts(l, plan.ringSize)));
  tooltip.hidden = false;
  const r = tooltip.getBoundingClientRect();
  tooltip.style.left = `${Math.min(window.innerWidth - r.width - 8, x + 14)}px`;
  tooltip.style.top = `${Math.min(window.innerHeight - r.height - 8, y + 14)}px`;
}

function hideTip(): void {
  tooltip.hidden = true;
  tipAt = undefined;
}

/** Highlights one layer's arcs and row (or none). */
function highlight(name: string | undefined): void {
  document.querySelectorAll<SVGElement>('.layer-arc').forEach((p) => p.classList.toggle('dim', name !== undefined && p.dataset['layer'] !== name));
  document.querySelectorAll<HTMLElement>('.layer-row').forEach((r) => r.classList.toggle('hover', r.dataset['layer'] === name));
}

function select(name: string, reveal: boolean): void {
  save({ selectedLayer: name });
  document.querySelectorAll<HTMLElement>('.layer-row').forEach((r) => r.setAttribute('aria-selected', String(r.dataset['layer'] === name)));
  document.querySelectorAll<SVGElement>('.layer-arc').forEach((p) => p.classList.toggle('selected', p.dataset['layer'] === name));
  renderDetail();
  requestWeights(name);
  if (reveal) api.postMessage({ type: 'revealLayer', layer: name });
}

// ── the ring ────────────────────────────────────────────────────────────────────────────────
function ringFigure(p: PlanResult, layout: RingLayout, colors: string[]): HTMLElement {
  const { cx, cy } = layout;
  const hc = isHighContrast();
  const root = svg('svg', { viewBox: `0 0 ${layout.size} ${layout.size}`, width: layout.size, height: layout.size, class: 'ring', 'aria-hidden': 'true' });
  // The ring band: M entries around the circle, shaded by how many weights read each slice.
  const cover = ringCoverage(p, COVERAGE_BINS);
  const maxCover = Math.max(...cover, 1e-9);
  const band = svg('g', { class: 'ring-band' });
  const step = (Math.PI * 2) / COVERAGE_BINS;
  // Runs of bins at the same (quantized) shade become one segment: few paths, no seams.
  const level = (b: number): number => Math.round((cover[b]! / maxCover) * 6);
  for (let b = 0; b < COVERAGE_BINS;) {
    let e = b + 1;
    while (e < COVERAGE_BINS && level(e) === level(b)) e++;
    band.append(svg('path', { d: annulusPath(cx, cy, layout.ringR0, layout.ringR1, b * step, e * step), 'fill-opacity': (0.12 + (0.5 * level(b)) / 6).toFixed(3) }));
    b = e;
  }
  root.append(band);
  for (const [k, label] of [[0, '0'], [1, '¼M'], [2, '½M'], [3, '¾M']] as const) {
    const a = (k * Math.PI) / 2;
    const r = layout.ringR1 + 0;
    root.append(svg('text', { x: cx + (r - 18) * Math.sin(a), y: cy - (r - 18) * Math.cos(a), class: 'tick', 'text-anchor': 'middle', 'dominant-baseline': 'middle' }, label));
  }
  const tracks = svg('g', { class: 'tracks' });
  for (const t of layout.tracks) {
    const layer = p.layers[t.index]!;
    const color = colors[t.index]!;
    const g = svg('g', { class: 'layer-arc', 'data-layer': layer.name, fill: color });
    if (t.wholeRing) g.append(svg('path', { d: annulusPath(cx, cy, t.r0, t.r1, 0, Math.PI * 2), 'fill-rule': 'evenodd', class: 'wrap', 'fill-opacity': hc ? '0.55' : '0.35' }));
    if (t.arcs.length) g.append(svg('path', { d: t.arcs.map((a) => annulusPath(cx, cy, t.r0, t.r1, a.a0, a.a1)).join(''), 'fill-rule': 'nonzero', class: 'span' }));
    g.addEventListener('mouseenter', () => {
      highlight(layer.name);
      window.clearTimeout(hoverTimer);
      hoverTimer = window.setTimeout(() => requestWeights(layer.name), 250);
    });
    g.addEventListener('mousemove', (e) => showTip(layer, e.clientX, e.clientY));
    g.addEventListener('mouseleave', () => {
      highlight(undefined);
      hideTip();
      window.clearTimeout(hoverTimer);
    });
    g.addEventListener('click', () => select(layer.name, true));
    tracks.append(g);
  }
  root.append(tracks);
  const centre = svg('text', { x: cx, y: cy - 8, class: 'centre', 'text-anchor': 'middle' }, `M = ${count(p.ringSize)}`);
  const reuse = p.ringSize ? p.summary.generatedParams / p.ringSize : 0;
  const centre2 = svg('text', { x: cx, y: cy + 12, class: 'centre muted', 'text-anchor': 'middle' }, `reuse ×${fmt(reuse)}`);
  root.append(centre, centre2);
  const label = `Ring of ${count(p.ringSize)} entries feeding ${p.layers.length} generated layers (${count(p.summary.generatedParams)} weights, reuse ${fmt(reuse)}). ` +
    `Tracks from the outside in, in fetch order. The layer list beside it has the same information.`;
  return h('figure', { class: 'ring-figure', role: 'img', 'aria-label': label }, root, layout.packed ? h('figcaption', { class: 'muted' }, `${p.layers.length} layers packed into ${layout.trackCount} tracks`) : undefined);
}

// ── the layer list (keyboard path to everything the ring shows) ─────────────────────────────
function layerList(p: PlanResult, colors: string[]): HTMLElement {
  const rows = p.layers.map((l, i) =>
    h('tr', { class: 'layer-row', 'data-layer': l.name, role: 'row', 'aria-selected': String(state.selectedLayer === l.name) },
      h('td', {}, h('span', { class: `swatch swatch-${i}`, 'aria-hidden': 'true' }),
        h('button', { class: 'link layer-button', 'data-layer': l.name, tabindex: i === 0 ? 0 : -1, title: 'Select and reveal in the config', 'aria-describedby': 'layer-tip' }, l.name)),
      h('td', { class: 'num col-shape' }, l.shape.join('×')),
      h('td', { class: 'num' }, count(l.params)),
      h('td', { class: 'num' }, `×${fmt(l.reuse)}`),
      h('td', { class: 'num' }, p.ringSize ? percent(Math.min(1, l.distinctEntries / p.ringSize), 0) : '—'),
    ),
  );
  const table = h('table', { class: 'layers', 'aria-label': 'Generated layers' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Layer'), h('th', { class: 'num col-shape' }, 'Shape'), h('th', { class: 'num' }, 'Params'), h('th', { class: 'num' }, 'Reuse'), h('th', { class: 'num' }, 'Ring'))),
    h('tbody', {}, ...rows));
  // Swatch colours go in through CSSOM (the CSP forbids style attributes).
  table.querySelectorAll<HTMLElement>('.swatch').forEach((s, i) => (s.style.background = colors[i]!));
  for (const r of rows) {
    const name = r.dataset['layer']!;
    const layer = p.layers.find((l) => l.name === name)!;
    r.addEventListener('mouseenter', () => highlight(name));
    r.addEventListener('mouseleave', () => highlight(undefined));
    const button = r.querySelector('button')!;
    button.addEventListener('click', () => select(name, true));
    button.addEventListener('focus', () => {
      highlight(name);
      const rect = button.getBoundingClientRect();
      requestWeights(name);
      showTip(layer, rect.right, rect.top, button);
    });
    button.addEventListener('blur', () => {
      highlight(undefined);
      hideTip();
    });
  }
  const freeParams = p.free.reduce((s, f) => s + f.params, 0);
  const free = h('details', { class: 'free' },
    h('summary', {}, `Free parameters: ${p.free.length} tensors, ${count(freeParams)} values (trained directly, not from the ring)`),
    h('table', { 'aria-label': 'Free parameters' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Parameter'), h('th', {}, 'Kind'), h('th', { class: 'num' }, 'Shape'), h('th', { class: 'num' }, 'Params'))),
      h('tbody', {}, ...p.free.map((f) => h('tr', { class: 'free-row' }, h('td', {}, f.name), h('td', {}, f.kind), h('td', { class: 'num' }, f.shape.join('×')), h('td', { class: 'num' }, count(f.params)))))));
  const section = h('section', { class: 'layer-list', 'aria-label': 'Layers' }, h('h2', {}, `Generated layers (${p.layers.length})`), table, free);
  rovingFocus(table, '.layer-button');
  return section;
}

// ── detail view of the selected layer ───────────────────────────────────────────────────────
function renderDetail(): void {
  const host = document.getElementById('detail');
  if (!host || !plan) return;
  clear(host);
  const name = state.selectedLayer;
  const layer = plan.layers.find((l) => l.name === name);
  if (!layer) {
    host.append(h('p', { class: 'placeholder' }, 'Select a layer (click an arc or a row) to see its generated weights.'));
    return;
  }
  const w = weights.get(layer.name);
  host.append(
    h('div', { class: 'detail-head' }, h('h2', {}, layer.name),
      h('button', { class: 'secondary', id: 'reveal' }, 'Reveal in config')),
    factList(layerFacts(layer, plan.ringSize)),
  );
  host.querySelector('#reveal')!.addEventListener('click', () => api.postMessage({ type: 'revealLayer', layer: layer.name }));
  if (!w) {
    host.append(h('p', { class: 'placeholder' }, 'Loading weights…'));
    return;
  }
  const source = w.source === 'checkpoint' ? `latest checkpoint${runDir ? ` of ${runDir.split(/[\\/]/).slice(-2).join('/')}` : ''}` : w.note ? 'initial ring' : 'initial ring (no trained run yet)';
  host.append(h('p', { class: 'muted source' }, `From the ${source}.`));
  // The run's checkpoint did not fit this plan (or was unreadable): say which file and why.
  if (w.note) host.append(h('p', { class: 'note', role: 'status' }, w.note));
  host.append(h('div', { class: 'plots' }, heatmap(w), histogram(w)));
}

function heatmap(w: LayerWeightsResult): HTMLElement {
  const grid = downsampleGrid({ rows: w.rows, cols: w.cols, values: w.values }, 160, 160);
  const canvas = h('canvas', { width: grid.cols, height: grid.rows, class: 'heatmap' });
  const limit = symmetricLimit(grid.values);
  const light = document.body.classList.contains('vscode-light');
  const pixels = heatmapPixels(grid, limit, rgbVar('--vscode-charts-blue', [55, 148, 255]), rgbVar('--vscode-editor-background', light ? [255, 255, 255] : [30, 30, 30]), rgbVar('--vscode-charts-red', [241, 76, 76]));
  canvas.getContext('2d')!.putImageData(new ImageData(pixels, grid.cols, grid.rows), 0, 0);
  const sampled = w.rows * w.cols < w.shape.reduce((a, b) => a * b, 1);
  return h('figure', { class: 'heatmap-figure', role: 'img', 'aria-label': `Heatmap of ${w.layer}: ${w.rows} by ${w.cols} weights${sampled ? ' (strided sample)' : ''}, blue negative, red positive, clamped at ±${fmt(limit)}` },
    canvas, h('figcaption', { class: 'muted' }, `${w.rows}×${w.cols}${sampled ? ' sampled' : ''} · ±${fmt(limit)}`));
}

function histogram(w: LayerWeightsResult): HTMLElement {
  const width = 260;
  const height = 120;
  const bars = histogramBars(w.histogram.edges, w.histogram.counts, width, height);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height + 16}`, width, height: height + 16, class: 'histogram', 'aria-hidden': 'true' });
  for (const b of bars) root.append(svg('rect', { x: b.x, y: b.y, width: b.width, height: Math.max(0, b.height), class: b.to <= 0 ? 'neg' : 'pos' }, svg('title', {}, `${fmt(b.from)} … ${fmt(b.to)}: ${count(b.count)}`)));
  const lo = w.histogram.edges[0] ?? 0;
  const hi = w.histogram.edges[w.histogram.edges.length - 1] ?? 0;
  root.append(svg('text', { x: 0, y: height + 13, class: 'tick' }, fmt(lo)), svg('text', { x: width, y: height + 13, class: 'tick', 'text-anchor': 'end' }, fmt(hi)));
  if (lo < 0 && hi > 0) root.append(svg('line', { x1: (-lo / (hi - lo)) * width, x2: (-lo / (hi - lo)) * width, y1: 0, y2: height, class: 'zero' }));
  const total = w.histogram.counts.reduce((s, c) => s + c, 0);
  return h('figure', { class: 'histogram-figure', role: 'img', 'aria-label': `Histogram of ${count(total)} weights of ${w.layer} from ${fmt(lo)} to ${fmt(hi)}, ${percent(w.signBalance)} positive` },
    root, h('figcaption', { class: 'muted' }, `${count(total)} weights · ${percent(w.signBalance)} positive`));
}

// ── page ────────────────────────────────────────────────────────────────────────────────────
function render(): void {
  clear(app);
  app.setAttribute('aria-busy', 'false');
  if (!plan) return;
  const p = plan;
  const colors = palette(p.layers.length);
  const s = p.summary;
  const toolbar = h('header', { class: 'toolbar' },
    h('div', { class: 'title' }, h('h1', {}, `${p.name}`),
      h('span', { class: 'muted' }, `${s.arch} · ${p.mode} · ring M = ${count(p.ringSize)} · ${count(s.generatedParams)} generated · DoF ${count(s.dof)} (${percent(s.dofFraction)}) · compression ×${fmt(s.compression)}`)),
    h('button', { class: 'secondary', id: 'refresh', title: 'Re-plan from the config (unsaved edits count)' }, 'Refresh'));
  toolbar.querySelector('#refresh')!.addEventListener('click', () => api.postMessage({ type: 'refresh' }));
  app.append(toolbar);
  if (p.mode === 'plain' || p.layers.length === 0) {
    app.append(h('p', { class: 'placeholder' }, 'This config trains the plain model (rpg.enabled is false): there is no ring to map.'), layerList(p, colors));
    return;
  }
  const layout = layoutRing(p, { size: RING_SIZE_PX });
  app.append(
    h('div', { class: 'columns' }, ringFigure(p, layout, colors), layerList(p, colors)),
    h('section', { id: 'detail', class: 'detail', 'aria-label': 'Selected layer', 'aria-live': 'polite' }),
    tooltip,
  );
  if (p.mode === 'shuffled') app.querySelector('.columns')!.prepend(h('p', { class: 'muted note' }, 'Shuffled sampling: each layer reads ring entries at random, so every track covers the whole ring (opacity = expected share read).'));
  renderDetail();
  if (state.selectedLayer && p.layers.some((l) => l.name === state.selectedLayer)) select(state.selectedLayer, false);
}

function reportRendered(): void {
  requestAnimationFrame(() => {
    // Timings are for benchmarks (data attributes the e2e scripts read), never shown: a panel
    // re-rendered long after it was opened would show an ever-growing "drawn … ms after".
    const ms = Math.max(0, Date.now() - openedAt);
    document.body.dataset['renderedMs'] = String(ms);
    document.body.dataset['renders'] = String(Number(document.body.dataset['renders'] ?? 0) + 1);
    if (planMs !== undefined) document.body.dataset['planMs'] = String(planMs);
    // Breakdown: page script start and plan arrival, relative to the request (negative start = page already up).
    document.body.dataset['scriptMs'] = String(scriptStartedAt - openedAt);
    document.body.dataset['arrivedMs'] = String(planArrivedAt - openedAt);
    // The same marks as absolute times (ms since the epoch; the e2e harness lines them up with
    // the workbench's own frame timings).
    document.body.dataset['openedAt'] = String(openedAt);
    document.body.dataset['scriptAt'] = String(scriptStartedAt);
    document.body.dataset['renderMs'] = renderMs.toFixed(1);
    if (!reported) {
      reported = true;
      api.postMessage({ type: 'rendered', ms, layers: plan?.layers.length ?? 0, ...(planMs !== undefined ? { planMs } : {}) });
    }
  });
}

function handle(m: MappingToWebview): void {
  switch (m.type) {
    case 'loading':
      clear(app);
      app.setAttribute('aria-busy', 'true');
      app.append(h('p', { class: 'placeholder' }, `Planning ${m.configPath}…`));
      return;
    case 'plan':
      if (state.configPath !== m.configPath) {
        weights.clear();
        requested.clear();
        save({ configPath: m.configPath, selectedLayer: undefined });
      }
      if (plan && plan.hash !== m.plan.hash) {
        weights.clear();
        requested.clear();
      }
      plan = m.plan;
      runDir = m.runDir;
      openedAt = m.openedAt;
      planArrivedAt = Date.now();
      planMs = m.planMs;
      reported = false;
      {
        const t = performance.now();
        render();
        renderMs = performance.now() - t;
      }
      reportRendered();
      return;
    case 'layerWeights':
      weights.set(m.result.layer, m.result);
      requested.delete(m.result.layer);
      if (state.selectedLayer === m.result.layer) renderDetail();
      // The open tooltip of this layer gains its sign balance.
      if (tipAt && !tooltip.hidden && tipAt.layer.name === m.result.layer) showTip(tipAt.layer, tipAt.x, tipAt.y, tipAt.anchor);
      return;
    case 'error':
      if (m.layer) requested.delete(m.layer);
      app.setAttribute('aria-busy', 'false');
      if (m.layer && plan) {
        const detail = document.getElementById('detail');
        detail?.append(h('p', { class: 'error', role: 'alert' }, m.message));
      } else {
        clear(app);
        app.append(h('p', { class: 'error', role: 'alert' }, m.message), h('button', { class: 'secondary', id: 'retry' }, 'Retry'));
        app.querySelector('#retry')!.addEventListener('click', () => api.postMessage({ type: 'refresh' }));
      }
      return;
  }
}

// A tooltip belongs to where the pointer was: scrolling the page or the layer list moves the
// layer away from under it, so it goes. One opened by keyboard focus follows its row instead
// (focusing a row scrolls it into view), and goes when the row leaves the view.
document.addEventListener('scroll', () => {
  if (!tipAt) return;
  const anchor = tipAt.anchor;
  if (!anchor) return hideTip();
  const r = anchor.getBoundingClientRect();
  if (r.bottom < 0 || r.top > window.innerHeight) return hideTip();
  showTip(tipAt.layer, r.right, r.top, anchor);
}, { capture: true, passive: true });
window.addEventListener('blur', () => tipAt && hideTip());

onHostMessage<MappingToWebview>(handle);
onThemeChange(() => plan && render());
api.postMessage({ type: 'ready', state });
