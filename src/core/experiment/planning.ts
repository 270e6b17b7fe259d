// A config's plan as its readers see it: `planFor` (the RPG plan, layer by layer: the Layers
// view, CodeLens, ring mapping) and `layerWeightsFor` (the generated weights of one layer).
// Both go the one way every consumer goes — config → dataset shape → model spec → plan —
// through resolveExperiment. Pure JS and node:fs, never tfjs: the extension calls planFor in
// its own process and layerWeightsFor in its worker thread (src/extension/layer-weights).
import * as path from 'node:path';
import { loadConfigFile, parseConfigText } from '../config/load';
import { resolveExperiment, ResolvedExperiment } from './resolve';
import type { RpgConfig } from '../config/schema';
import { describeDataset } from '../data/index';
import { DatasetError } from '../data/types';
import { nominalDatasetInfo } from '../data/standard-shapes';
import type { ConfigRef, LayerWeightsParams, LayerWeightsResult, PlanLayer, PlanResult } from './types';
import { DEFAULT_MAX_VALUES, findGeneratedLayer, layerWeightsOf } from '../rpg/layer-weights';
import { ringSpans } from '../rpg/plan';
import { ringToView } from '../checkpoint/ring';
import { InvalidInputError } from '../errors';

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
  throw new InvalidInputError('give configPath or text', 'configPath');
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

/** The largest layer (and ring) a layer-weights view materializes: 2^26 weights, about 1 GB while drawn. */
export const MAX_VIEWED_WEIGHTS = 2 ** 26;

/**
 * One generated layer's weights under the config's plan: from the run's checkpoint ring when
 * a runDir is given and its checkpoint was trained with this plan, else from the initial ring
 * (the result's note says why). The extension's layer weights worker calls this. Repeated calls for one plan reuse its draws (materialize.ts,
 * checkpoint/ring.ts keep the last plan's).
 */
export function layerWeightsFor(params: LayerWeightsParams): LayerWeightsResult {
  if (typeof params.layer !== 'string' || !params.layer) throw new InvalidInputError('give the layer to show', 'layer');
  const { plan } = resolveForViewing(loadConfigRef(params)).resolved;
  if (!plan) throw new InvalidInputError('rpg.enabled is false: this model has no generated weights', 'rpg.enabled');
  const layer = findGeneratedLayer(plan, params.layer);
  // Generating a layer materializes ~17 bytes per weight (permutation, indices, signs, values):
  // a pathological config must be refused here, not exhaust the worker's memory.
  if (layer && layer.size > MAX_VIEWED_WEIGHTS) throw new InvalidInputError(`layer ${layer.param.name} has ${layer.size.toLocaleString('en-US')} weights; the mapping draws layers of up to ${MAX_VIEWED_WEIGHTS.toLocaleString('en-US')}`, 'layer');
  if (plan.ringSize > MAX_VIEWED_WEIGHTS) throw new InvalidInputError(`the ring has ${plan.ringSize.toLocaleString('en-US')} entries; the mapping draws rings of up to ${MAX_VIEWED_WEIGHTS.toLocaleString('en-US')}`, 'rpg.dof');
  if (!layer) throw new InvalidInputError(`"${params.layer}" is not a generated layer of this plan (generated: ${plan.layers.map((g) => g.param.name).join(', ')})`, 'layer');
  const maxValues = typeof params.maxValues === 'number' && params.maxValues >= 1 ? params.maxValues : DEFAULT_MAX_VALUES;
  return layerWeightsOf(plan, layer, ringToView(plan, params.runDir ? path.resolve(params.runDir) : undefined), maxValues);
}
