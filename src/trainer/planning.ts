// The trainer's read-only requests: `plan` (a config's RPG plan, layer by layer) and
// `plan/layerWeights` (the generated weights of one layer). Both go the one way every
// consumer goes — config → dataset shape → model spec → plan — through resolveExperiment.
import * as path from 'node:path';
import { loadConfigFile, parseConfigText, validateConfig } from '../config/load';
import { resolveExperiment, ResolvedExperiment } from '../config/resolve';
import type { RpgConfig } from '../config/schema';
import { describeDataset } from '../data/index';
import { DatasetError } from '../data/types';
import { nominalDatasetInfo } from '../data/standard-shapes';
import type { ConfigRef, LayerWeightsParams, LayerWeightsResult, PlanLayer, PlanResult } from '../protocol';
import { generateWeights, initialRing, materializePlan, MaterializedPlan } from '../rpg/materialize';
import { ringSpans, RpgPlan } from '../rpg/plan';
import { readCheckpoint } from '../train/checkpoint';
import { readRunRecord } from '../train/run-files';
import { TrainError } from '../train/types';
import { invalidParams } from './errors';

export interface LoadedConfig {
  readonly config: RpgConfig;
  /** Absolute path of the config file, when the config has one. */
  readonly configPath?: string;
  /** Folder that relative dataset paths resolve against. */
  readonly baseDir: string;
}

/** A ConfigRef's config: unsaved text wins over the file's content. Throws ConfigError. */
export function loadConfigRef(ref: ConfigRef): LoadedConfig {
  const configPath = ref.configPath ? path.resolve(ref.configPath) : undefined;
  const baseDir = configPath ? path.dirname(configPath) : process.cwd();
  if (typeof ref.text === 'string') return { config: parseConfigText(ref.text, configPath), configPath, baseDir };
  if (configPath) return { config: loadConfigFile(configPath), configPath, baseDir };
  throw invalidParams('give configPath or text', 'configPath');
}

/** The config resolved against its dataset's shape. Throws ConfigError/DatasetError/PlanError/ShapeError. */
export function resolveLoaded(loaded: LoadedConfig): ResolvedExperiment {
  const info = describeDataset(loaded.config.data, loaded.baseDir);
  return resolveExperiment(loaded.config, info);
}

/**
 * For viewing only (plan, initial weights): a dataset that is not on this machine yet is
 * replaced by its standard shape, and the note says so. Training never takes this path.
 */
function resolveForViewing(loaded: LoadedConfig): { resolved: ResolvedExperiment; inputNote?: string } {
  try {
    return { resolved: resolveLoaded(loaded) };
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    const info = nominalDatasetInfo(loaded.config.data, loaded.config.model.numClasses);
    const inputNote = `${err.message}; planned with the standard ${loaded.config.data.dataset} input ${info.height}×${info.width}×${info.channels}, ${info.numClasses} classes`;
    return { resolved: resolveExperiment(loaded.config, info), inputNote };
  }
}

export function planFor(ref: ConfigRef): PlanResult {
  const loaded = loadConfigRef(ref);
  const { resolved, inputNote } = resolveForViewing(loaded);
  const { config, spec, plan, summary } = resolved;
  const rows = new Map(summary.rows.map((r) => [r.name, r]));
  const layers: PlanLayer[] = (plan?.layers ?? []).map((g) => {
    const { spans, fullWraps } = plan!.mode === 'ring' ? ringSpans(g, plan!.ringSize) : { spans: [], fullWraps: 0 };
    return {
      name: g.param.name,
      layer: g.param.layer,
      kind: g.param.kind,
      shape: g.param.shape,
      params: g.size,
      offset: g.offset,
      scale: g.scale,
      initStd: g.initStd,
      reuse: g.size / plan!.ringSize,
      distinctEntries: rows.get(g.param.name)?.distinctEntries ?? 0,
      spans,
      fullWraps,
    };
  });
  const free = (plan ? plan.free : spec.params).map((p) => ({ name: p.name, kind: p.kind, shape: p.shape, params: p.size }));
  return {
    name: config.name ?? 'experiment',
    ...(loaded.configPath ? { configPath: loaded.configPath } : {}),
    mode: plan ? plan.mode : 'plain',
    seed: config.seed,
    ringSize: plan?.ringSize ?? 0,
    hash: plan?.hash ?? '',
    summary,
    ...(inputNote ? { inputNote } : {}),
    layers,
    free,
  };
}

const DEFAULT_MAX_VALUES = 64 * 1024;
const HISTOGRAM_BINS = 41;
/** The ring's name among a checkpoint's tensors (see Network.state). */
const RING_TENSOR = 'ring';

/**
 * One generated layer's weights. With a runDir they come from the run's latest checkpoint,
 * under the config the run was trained with (stored in the checkpoint), since the file may
 * have been edited since; otherwise from the config's initial ring.
 */
export async function layerWeightsFor(params: LayerWeightsParams): Promise<LayerWeightsResult> {
  if (typeof params.layer !== 'string' || !params.layer) throw invalidParams('give the layer to show', 'layer');
  const { plan, ring } = params.runDir ? checkpointRing(params, path.resolve(params.runDir)) : initialRingOf(params);
  const layer = plan.layers.find((g) => g.param.name === params.layer) ?? plan.layers.find((g) => g.param.layer === params.layer);
  if (!layer) throw invalidParams(`"${params.layer}" is not a generated layer of this plan (generated: ${plan.layers.map((g) => g.param.name).join(', ')})`, 'layer');

  const weights = layerSlice(materialized(plan), ring, layer.offset, layer.size);
  const cols = layer.param.shape[layer.param.shape.length - 1] ?? 1;
  const rows = layer.size / cols;
  const grid = sampleGrid(weights, rows, cols, Math.max(1, Math.floor(params.maxValues ?? DEFAULT_MAX_VALUES)));
  return {
    layer: layer.param.name,
    shape: layer.param.shape,
    rows: grid.rows,
    cols: grid.cols,
    values: Array.from(grid.values),
    histogram: histogram(weights, HISTOGRAM_BINS),
    source: params.runDir ? 'checkpoint' : 'initial',
    signBalance: signBalance(weights),
  };
}

function initialRingOf(ref: ConfigRef): { plan: RpgPlan; ring: Float32Array } {
  const { plan } = resolveForViewing(loadConfigRef(ref)).resolved;
  if (!plan) throw invalidParams('rpg.enabled is false: this model has no generated weights', 'rpg.enabled');
  return { plan, ring: initialRing(plan) };
}

function checkpointRing(ref: ConfigRef, runDir: string): { plan: RpgPlan; ring: Float32Array } {
  const checkpoint = readCheckpoint(runDir);
  const configPath = ref.configPath ? path.resolve(ref.configPath) : readRunRecord(runDir)?.configPath;
  const config = validateConfig(checkpoint.meta.config, configPath);
  const { plan } = resolveLoaded({ config, configPath, baseDir: configPath ? path.dirname(configPath) : runDir });
  const ring = checkpoint.tensors.get(RING_TENSOR)?.values;
  if (!plan || !ring) throw invalidParams(`${runDir} trained the plain model (rpg.enabled false): it has no ring`, 'runDir');
  if (plan.hash !== checkpoint.meta.planHash || ring.length !== plan.ringSize) {
    throw new TrainError('checkpoint', `${runDir}: the plan regenerated from the run's config does not match its checkpoint (hash ${plan.hash} vs ${String(checkpoint.meta.planHash)})`, undefined, runDir);
  }
  return { plan, ring };
}

// Materializing ResNet-sized plans takes a moment; the detail view asks for one layer after
// another of the same plan, so keep the last one.
let lastMaterialized: MaterializedPlan | undefined;
function materialized(plan: RpgPlan): MaterializedPlan {
  if (lastMaterialized?.plan.hash !== plan.hash) lastMaterialized = materializePlan(plan);
  return lastMaterialized;
}

/** One layer's generated weights (the reference generation, restricted to the layer's range). */
function layerSlice(m: MaterializedPlan, ring: Float32Array, offset: number, size: number): Float32Array {
  if (offset === 0 && size === m.index.length) return generateWeights(m, ring);
  const out = new Float32Array(size);
  for (let k = 0; k < size; k++) out[k] = m.signScale[offset + k]! * ring[m.index[offset + k]!]!;
  return out;
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
