// One generated layer's weights as the ring mapping's detail view shows them: a heatmap grid
// (a deterministic strided sample), a histogram and the sign balance over every weight. Pure
// JS on (plan, ring), so the extension computes it in a worker thread, without tfjs or the trainer.
import type { LayerWeightsResult } from '../experiment/types';
import { generateWeights, materializeLayer } from './materialize';
import type { GeneratedLayer, RpgPlan } from './plan';

export const DEFAULT_MAX_VALUES = 64 * 1024;
const HISTOGRAM_BINS = 41;

/** The ring a view is drawn from, and why when it is not the one asked for. */
export interface RingView {
  /** Read only: views of one plan share its initial ring (see ringToView). */
  readonly ring: Float32Array;
  readonly source: LayerWeightsResult['source'];
  readonly note?: string;
}

/** A generated layer by parameter name ("conv1.kernel") or by layer name ("conv1"). */
export function findGeneratedLayer(plan: RpgPlan, name: string): GeneratedLayer | undefined {
  return plan.layers.find((g) => g.param.name === name) ?? plan.layers.find((g) => g.param.layer === name);
}

/**
 * The layer's weights from `view.ring`. Only this layer is generated (materializeLayer), so
 * looking at one ResNet-34 layer does not cost its 21.8M weights.
 */
export function layerWeightsOf(plan: RpgPlan, layer: GeneratedLayer, view: RingView, maxValues = DEFAULT_MAX_VALUES): LayerWeightsResult {
  if (view.ring.length !== plan.ringSize) throw new Error(`layerWeightsOf: a ring of ${view.ring.length} entries for a plan of ${plan.ringSize}`);
  const weights = generateWeights(materializeLayer(plan, layer), view.ring);
  if (layer.base) for (let i = 0; i < weights.length; i++) weights[i] = weights[i]! + layer.base;
  // Kernels flatten to [fanIn, fanOut]: the last axis is the columns.
  const cols = layer.param.shape[layer.param.shape.length - 1] ?? 1;
  const grid = sampleGrid(weights, layer.size / cols, cols, Math.max(1, Math.floor(maxValues)));
  return {
    layer: layer.param.name,
    shape: layer.param.shape,
    rows: grid.rows,
    cols: grid.cols,
    values: Array.from(grid.values),
    histogram: histogram(weights, HISTOGRAM_BINS),
    source: view.source,
    ...(view.note ? { note: view.note } : {}),
    signBalance: signBalance(weights),
  };
}

/**
 * At most `maxValues` of a rows × cols matrix, still laid out as a grid: every r-th row and
 * c-th column, with strides as even as the budget allows. Deterministic, so the heatmap of
 * one layer does not flicker between requests.
 */
export function sampleGrid(values: Float32Array, rows: number, cols: number, maxValues: number): { rows: number; cols: number; values: Float32Array } {
  if (rows * cols <= maxValues) return { rows, cols, values };
  const shrink = Math.sqrt((rows * cols) / maxValues);
  let rowStride = Math.max(1, Math.round(shrink));
  let colStride = Math.max(1, Math.round(shrink));
  // A thin matrix cannot shrink along its short side: put the rest on the long one.
  if (rows < rowStride) rowStride = rows;
  if (cols < colStride) colStride = cols;
  while (Math.ceil(rows / rowStride) * Math.ceil(cols / colStride) > maxValues) {
    if (Math.ceil(rows / rowStride) >= Math.ceil(cols / colStride) && rowStride < rows) rowStride++;
    else if (colStride < cols) colStride++;
    else rowStride++;
  }
  const outRows = Math.ceil(rows / rowStride);
  const outCols = Math.ceil(cols / colStride);
  const out = new Float32Array(outRows * outCols);
  for (let r = 0; r < outRows; r++) {
    for (let c = 0; c < outCols; c++) out[r * outCols + c] = values[r * rowStride * cols + c * colStride]!;
  }
  return { rows: outRows, cols: outCols, values: out };
}

/** Equal-width bins symmetric around 0 (weights are centred), over every weight of the layer. */
export function histogram(values: Float32Array, bins: number): { edges: number[]; counts: number[] } {
  let maxAbs = 0;
  for (const v of values) maxAbs = Math.max(maxAbs, Math.abs(v));
  if (maxAbs === 0) maxAbs = 1;
  const width = (2 * maxAbs) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => -maxAbs + i * width);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((v + maxAbs) / width)))]!++;
  return { edges, counts };
}

/** Share of positive weights among the non-zero ones: 0.5 is balanced. */
export function signBalance(values: Float32Array): number {
  let positive = 0;
  let nonZero = 0;
  for (const v of values) {
    if (v === 0) continue;
    nonZero++;
    if (v > 0) positive++;
  }
  return nonZero ? positive / nonZero : 0.5;
}
