// uPlot charts of the curves panel: themed from --vscode-* variables, x zoom shared by every
// chart (drag to zoom, wheel to zoom, shift+wheel or arrow keys to pan, double-click or 0 to
// reset), canvas drawing so 100,000 points per run stay smooth.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { cssVar, isHighContrast } from '../shared/theme';
import type { Column } from './transforms';

export interface SeriesSpec {
  readonly label: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly show?: boolean;
  /** Draw points only (the DoF scatter). */
  readonly pointsOnly?: boolean;
  /** The raw curve under its smoothed one: thin and faint. */
  readonly faint?: boolean;
  /** A marker at every row (test evaluations: few points, each one a measurement). */
  readonly markers?: boolean;
  /** Marker size for pointsOnly series (default 8). */
  readonly pointSize?: number;
}

/** What a chart reports back to the page: where the cursor is, and clicks to pin a step. */
export interface ChartEvents {
  /** The x under the cursor, or undefined when it left the chart. */
  onCursor?(x: number | undefined): void;
  /** A click at x (not the end of a zoom drag). */
  onClick?(x: number): void;
  /** The pinned x to draw a line at, if any. */
  pinned?(): number | undefined;
}

export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  readonly logY?: boolean;
  readonly series: readonly SeriesSpec[];
  readonly data: Column[];
  readonly height?: number;
  readonly yFormat?: (v: number) => string;
}

/** Keeps the x range the same on every chart in the group, and remembers a zoom across rebuilds. */
export class XSync {
  private readonly charts = new Set<uPlot>();
  private syncing = false;
  /** The user's x range; undefined = fit the data. */
  zoom: { min: number; max: number } | undefined;
  /** The x range of all the data (the charts hold a decimated window of it). */
  extent: [number, number] | undefined;
  /** The user zoomed, panned or reset: the data of the new window is due. */
  onChange: () => void = () => undefined;

  add(u: uPlot): void {
    this.charts.add(u);
  }

  remove(u: uPlot): void {
    this.charts.delete(u);
  }

  /** Called from uPlot's setScale hook. */
  changed(from: uPlot): void {
    if (this.syncing) return;
    const { min, max } = from.scales['x']!;
    if (min === undefined || max === undefined || min === null || max === null) return;
    this.syncing = true;
    for (const u of this.charts) if (u !== from) u.setScale('x', { min, max });
    this.syncing = false;
  }

  set(min: number, max: number): void {
    this.zoom = { min, max };
    const first = this.charts.values().next().value as uPlot | undefined;
    first?.setScale('x', { min, max });
    this.onChange();
  }

  reset(): void {
    this.zoom = undefined;
    for (const u of this.charts) {
      const ext = this.extent ?? ownExtent(u);
      if (ext) u.setScale('x', { min: ext[0], max: ext[1] });
    }
    this.onChange();
  }
}

function ownExtent(u: uPlot): [number, number] | undefined {
  const xs = u.data[0] as number[];
  return xs.length ? [xs[0]!, xs[xs.length - 1]!] : undefined;
}

function xExtent(u: uPlot, sync: XSync): [number, number] | undefined {
  return sync.extent ?? ownExtent(u);
}

/** Zoom x by `factor` (< 1 zooms in) around the fraction `at` of the visible range (0 = left). */
function zoomX(u: uPlot, sync: XSync, factor: number, at = 0.5, logX = false): void {
  const s = u.scales['x']!;
  if (s.min == null || s.max == null) return;
  const ext = xExtent(u, sync);
  if (!ext) return;
  const t = (v: number): number => (logX ? Math.log(v) : v);
  const inv = (v: number): number => (logX ? Math.exp(v) : v);
  const lo = t(s.min);
  const hi = t(s.max);
  const centre = lo + (hi - lo) * at;
  let nlo = centre - (centre - lo) * factor;
  let nhi = centre + (hi - centre) * factor;
  if (nlo <= t(ext[0]) && nhi >= t(ext[1])) return sync.reset();
  nlo = Math.max(nlo, t(ext[0]));
  nhi = Math.min(nhi, t(ext[1]));
  if (nhi - nlo <= 0) return;
  sync.set(inv(nlo), inv(nhi));
}

function panX(u: uPlot, sync: XSync, fraction: number): void {
  const s = u.scales['x']!;
  const ext = xExtent(u, sync);
  if (s.min == null || s.max == null || !ext) return;
  const width = s.max - s.min;
  let lo = s.min + width * fraction;
  lo = Math.max(ext[0], Math.min(ext[1] - width, lo));
  sync.set(lo, lo + width);
}

function compact(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(1);
  return Number(v.toPrecision(4)).toString();
}

export function themeColors(): { fg: string; muted: string; grid: string; bg: string; font: string } {
  const fg = cssVar('--vscode-foreground', '#cccccc');
  const hc = isHighContrast();
  return {
    fg,
    muted: cssVar('--vscode-descriptionForeground', fg),
    grid: hc ? cssVar('--vscode-contrastBorder', fg) : cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.35)'),
    bg: cssVar('--vscode-editor-background', '#1e1e1e'),
    font: cssVar('--vscode-font-family', 'system-ui, sans-serif'),
  };
}

/** A themed, zoom-synced uPlot in `target` (a focusable figure); returns it for updates. */
export function createChart(spec: ChartSpec, target: HTMLElement, width: number, sync: XSync, onZoomReset: () => void, events: ChartEvents = {}): uPlot {
  const c = themeColors();
  const hc = isHighContrast();
  const axis = (label: string, log = false): uPlot.Axis => ({
    label, stroke: c.muted, labelFont: `12px ${c.font}`, font: `11px ${c.font}`,
    grid: { stroke: c.grid, width: hc ? 0.5 : 1 }, ticks: { stroke: c.grid, width: 1, size: 4 },
    values: (_u, splits) => splits.map((v) => (v == null ? '' : log ? compact(v) : compact(v))),
  });
  const yAxis = axis(spec.yLabel, spec.logY);
  if (spec.yFormat) yAxis.values = (_u, splits) => splits.map((v) => (v == null ? '' : spec.yFormat!(v)));
  const opts: uPlot.Options = {
    width, height: spec.height ?? 220,
    scales: { x: { time: false, ...(spec.logX ? { distr: 3 } : {}) }, y: spec.logY ? { distr: 3 } : { auto: true } },
    axes: [axis(spec.xLabel, spec.logX), yAxis],
    legend: { show: false },
    cursor: { sync: { key: 'rpg-curves' }, drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
    series: [
      { label: spec.xLabel },
      ...spec.series.map((s): uPlot.Series => ({
        label: s.label, stroke: s.color, width: s.faint ? 1 : hc ? 2 : s.markers ? 2 : s.dashed ? 1.5 : 1.25, spanGaps: true, show: s.show ?? true,
        ...(s.faint ? { alpha: hc ? 0.45 : 0.28 } : {}),
        ...(s.dashed ? { dash: s.markers ? [2, 3] : [5, 4] } : {}),
        ...(s.pointsOnly
          ? { paths: () => null, points: { show: true, size: s.pointSize ?? 8, stroke: s.color, fill: s.color } }
          : s.markers
            ? { points: { show: true, size: 6, width: 1.5, stroke: s.color, fill: c.bg } }
            : { points: { show: false } }),
      })),
    ],
    hooks: {
      setCursor: [(u) => {
        // Only the chart under the pointer reports: the others follow it through the cursor
        // sync, and would report their own (possibly hidden) cursor positions.
        if (!events.onCursor || !hovered) return;
        const left = u.cursor.left;
        if (left !== undefined && left >= 0) events.onCursor(u.posToVal(left, 'x'));
      }],
      draw: [(u) => {
        const x = events.pinned?.();
        if (x === undefined) return;
        const left = u.valToPos(x, 'x', true);
        if (!(left >= u.bbox.left && left <= u.bbox.left + u.bbox.width)) return;
        const g = u.ctx;
        g.save();
        g.strokeStyle = c.fg;
        g.lineWidth = Math.max(1, devicePixelRatio);
        g.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        g.beginPath();
        g.moveTo(left, u.bbox.top);
        g.lineTo(left, u.bbox.top + u.bbox.height);
        g.stroke();
        g.restore();
      }],
      setScale: [(u, key) => {
        if (key === 'x') sync.changed(u);
      }],
      setSelect: [(u) => {
        if (u.select.width > 0) {
          const s = u.scales['x']!;
          if (s.min != null && s.max != null) {
            sync.zoom = { min: s.min, max: s.max };
            sync.onChange();
          }
        }
      }],
    },
  };
  let hovered = false;
  const u = new uPlot(opts, spec.data as uPlot.AlignedData, target);
  u.over.addEventListener('mouseenter', () => (hovered = true));
  u.over.addEventListener('mouseleave', () => {
    hovered = false;
    events.onCursor?.(undefined);
  });
  sync.add(u);
  if (sync.zoom) u.setScale('x', sync.zoom);
  u.over.addEventListener('wheel', (e) => {
    e.preventDefault();
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) panX(u, sync, (e.deltaX || e.deltaY) > 0 ? 0.1 : -0.1);
    else zoomX(u, sync, e.deltaY > 0 ? 1.25 : 0.8, e.offsetX / u.over.clientWidth, spec.logX);
  }, { passive: false });
  u.over.addEventListener('dblclick', () => {
    sync.reset();
    onZoomReset();
  });
  // A click (not a zoom drag) pins the step under it.
  let downAt: number | undefined;
  u.over.addEventListener('mousedown', (e) => (downAt = e.clientX));
  u.over.addEventListener('click', (e) => {
    if (events.onClick && downAt !== undefined && Math.abs(e.clientX - downAt) < 3) events.onClick(u.posToVal(e.offsetX, 'x'));
    downAt = undefined;
  });
  target.addEventListener('keydown', (e) => {
    const keys: Record<string, () => void> = {
      ArrowLeft: () => panX(u, sync, -0.1), ArrowRight: () => panX(u, sync, 0.1),
      '+': () => zoomX(u, sync, 0.8, 0.5, spec.logX), '=': () => zoomX(u, sync, 0.8, 0.5, spec.logX), '-': () => zoomX(u, sync, 1.25, 0.5, spec.logX),
      '0': () => { sync.reset(); onZoomReset(); }, Home: () => { sync.reset(); onZoomReset(); },
    };
    const act = keys[e.key];
    if (act) {
      e.preventDefault();
      act();
    }
  });
  return u;
}

/**
 * The charts drawn again at `width` CSS pixels (times the device pixel ratio), off screen, for an
 * export: a PNG as wide as a paper figure whatever the panel's width. The caller destroys them.
 */
export function renderForExport(specs: readonly ChartSpec[], width: number, events: (spec: ChartSpec) => ChartEvents = () => ({})): { parts: PngPart[]; destroy(): void } {
  const host = document.createElement('div');
  host.className = 'export-host';
  document.body.append(host);
  const sync = new XSync();
  const charts = specs.map((spec) => {
    const figure = document.createElement('div');
    host.append(figure);
    return { spec, u: createChart({ ...spec, height: Math.round((spec.height ?? 220) * 1.4) }, figure, width, sync, () => undefined, events(spec)) };
  });
  return {
    parts: charts.map(({ spec, u }) => ({ title: spec.title, canvas: u.ctx.canvas })),
    destroy() {
      for (const c of charts) c.u.destroy();
      host.remove();
    },
  };
}

export interface PngPart {
  readonly title: string;
  readonly canvas: HTMLCanvasElement;
}

/** One PNG of the charts stacked, with their titles and a legend, on the theme's background. */
export function composePng(parts: readonly PngPart[], legend: readonly { label: string; color: string }[], heading: string): string {
  const c = themeColors();
  const dpr = window.devicePixelRatio || 1;
  const pad = 12 * dpr;
  const titleH = 18 * dpr;
  const legendH = legend.length ? (legend.length * 16 + 8) * dpr : 0;
  const width = Math.max(...parts.map((p) => p.canvas.width), 400 * dpr) + pad * 2;
  const height = pad + titleH + legendH + parts.reduce((s, p) => s + titleH + p.canvas.height + pad, 0);
  const out = document.createElement('canvas');
  out.width = width;
  out.height = height;
  const g = out.getContext('2d')!;
  g.fillStyle = c.bg;
  g.fillRect(0, 0, width, height);
  g.textBaseline = 'top';
  g.fillStyle = c.fg;
  g.font = `600 ${13 * dpr}px ${c.font}`;
  g.fillText(heading, pad, pad);
  let y = pad + titleH;
  g.font = `${11 * dpr}px ${c.font}`;
  for (const item of legend) {
    g.fillStyle = item.color;
    g.fillRect(pad, y + 5 * dpr, 16 * dpr, 3 * dpr);
    g.fillStyle = c.fg;
    g.fillText(item.label, pad + 22 * dpr, y);
    y += 16 * dpr;
  }
  y += legend.length ? 8 * dpr : 0;
  for (const p of parts) {
    g.fillStyle = c.fg;
    g.font = `600 ${12 * dpr}px ${c.font}`;
    g.fillText(p.title, pad, y);
    y += titleH;
    g.drawImage(p.canvas, pad, y);
    y += p.canvas.height + pad;
  }
  return out.toDataURL('image/png');
}
