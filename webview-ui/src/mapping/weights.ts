// Pure transforms for the detail view of one generated layer: the sampled weight grid as
// heatmap pixels (block-averaged down to the canvas), and the histogram as bars.
export type Rgb = readonly [number, number, number];

export interface Grid {
  readonly rows: number;
  readonly cols: number;
  readonly values: ArrayLike<number>;
}

/** Block means so the grid is at most maxRows × maxCols (a heatmap never draws more cells than pixels). */
export function downsampleGrid(grid: Grid, maxRows: number, maxCols: number): { rows: number; cols: number; values: Float32Array } {
  const rf = Math.max(1, Math.ceil(grid.rows / maxRows));
  const cf = Math.max(1, Math.ceil(grid.cols / maxCols));
  const rows = Math.ceil(grid.rows / rf);
  const cols = Math.ceil(grid.cols / cf);
  const sums = new Float32Array(rows * cols);
  const counts = new Uint32Array(rows * cols);
  for (let r = 0; r < grid.rows; r++) {
    const rr = Math.floor(r / rf);
    for (let c = 0; c < grid.cols; c++) {
      const k = rr * cols + Math.floor(c / cf);
      sums[k]! += grid.values[r * grid.cols + c] ?? 0;
      counts[k]!++;
    }
  }
  for (let k = 0; k < sums.length; k++) sums[k] = counts[k] ? sums[k]! / counts[k]! : 0;
  return { rows, cols, values: sums };
}

/** The value range the colour scale spans: ±(the 99th percentile of |v|), so one outlier does not wash the map out. */
export function symmetricLimit(values: ArrayLike<number>, quantile = 0.99): number {
  const abs = Float64Array.from({ length: values.length }, (_, i) => Math.abs(values[i] ?? 0)).sort();
  if (abs.length === 0) return 1;
  const v = abs[Math.min(abs.length - 1, Math.floor(quantile * (abs.length - 1)))]!;
  return v > 0 ? v : abs[abs.length - 1]! || 1;
}

/** RGBA pixels of a diverging map: neg colour ← mid → pos colour, clamped at ±limit. */
export function heatmapPixels(grid: Grid, limit: number, neg: Rgb, mid: Rgb, pos: Rgb): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(grid.rows * grid.cols * 4);
  for (let i = 0; i < grid.rows * grid.cols; i++) {
    const t = Math.max(-1, Math.min(1, (grid.values[i] ?? 0) / limit));
    const end = t < 0 ? neg : pos;
    const w = Math.abs(t);
    out[i * 4] = mid[0] + (end[0] - mid[0]) * w;
    out[i * 4 + 1] = mid[1] + (end[1] - mid[1]) * w;
    out[i * 4 + 2] = mid[2] + (end[2] - mid[2]) * w;
    out[i * 4 + 3] = 255;
  }
  return out;
}

export interface Bar {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly from: number;
  readonly to: number;
  readonly count: number;
}

/** Histogram bars in a width × height box (counts on a linear scale, tallest bar = full height). */
export function histogramBars(edges: readonly number[], counts: readonly number[], width: number, height: number): Bar[] {
  const n = counts.length;
  if (n === 0 || edges.length !== n + 1) return [];
  const lo = edges[0]!;
  const hi = edges[n]!;
  const span = hi - lo || 1;
  const max = Math.max(1, ...counts);
  return counts.map((count, i) => {
    const x0 = ((edges[i]! - lo) / span) * width;
    const x1 = ((edges[i + 1]! - lo) / span) * width;
    const h = (count / max) * height;
    return { x: x0, y: height - h, width: Math.max(0.5, x1 - x0 - 0.5), height: h, from: edges[i]!, to: edges[i + 1]!, count };
  });
}

/** "#rrggbb", "#rgb" or "rgb(a)(r, g, b…)" → [r, g, b]; undefined when unparseable. */
export function parseColor(css: string): Rgb | undefined {
  const s = css.trim();
  let m = /^#([0-9a-f]{3,8})$/i.exec(s);
  if (m) {
    const hex = m[1]!;
    if (hex.length === 3 || hex.length === 4) return [0, 1, 2].map((i) => parseInt(hex[i]! + hex[i]!, 16)) as unknown as Rgb;
    if (hex.length === 6 || hex.length === 8) return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgb;
    return undefined;
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(s);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  return undefined;
}
