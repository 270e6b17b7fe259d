// config → model spec → plan → DoF summary: the single path every consumer (CLI, trainer,
// language server, sweeps, both engines) takes, so they can never disagree about a model's
// numbers; and the dataset a config trains on, with errors naming the field at fault.
import { BuildOptions, buildModelSpec, ModelInput } from '../models/architectures';
import type { ModelSpec } from '../models/spec';
import { DofSummary, summarizeDof } from '../rpg/dof';
import { buildPlan, RpgPlan } from '../rpg/plan';
import type { RpgConfig } from '../config/schema';
import * as path from 'node:path';
import { Dataset, DatasetError, loadDataset } from '../data';
import { TrainError } from '../errors';
import { ShapeError } from '../models/shapes';
import { GraphError } from '../models/graph';

/** The config field a model's shape problem belongs to. */
export function modelField(config: RpgConfig): string {
  return config.model.graph ? 'model.graph' : config.model.import !== undefined ? 'model.import' : 'model.arch';
}
import { PlanError } from '../rpg/plan';

export interface ResolvedExperiment {
  readonly config: RpgConfig;
  readonly spec: ModelSpec;
  /** Undefined when rpg.enabled is false (the plain model). */
  readonly plan: RpgPlan | undefined;
  readonly summary: DofSummary;
}

/** `options.baseDir`: the config file's folder, which a relative `model.import` resolves against. */
export function resolveExperiment(config: RpgConfig, input: ModelInput, options: BuildOptions = {}): ResolvedExperiment {
  const spec = buildModelSpec(config.model, input, options);
  const plan = config.rpg.enabled ? buildPlan(spec, config.rpg, config.seed) : undefined;
  return { config, spec, plan, summary: summarizeDof(spec, plan) };
}

export async function loadExperimentData(config: RpgConfig, configPath: string | undefined): Promise<Dataset> {
  const baseDir = configPath ? path.dirname(path.resolve(configPath)) : process.cwd();
  try {
    return await loadDataset(config.data, baseDir);
  } catch (err) {
    if (err instanceof DatasetError) throw new TrainError('dataset', err.message, config.data.path ? 'data.path' : 'data.dataset', err.file);
    throw err;
  }
}

/** Resolves config + dataset into a model and plan; checks numClasses against the data. */
export function resolveForData(config: RpgConfig, dataset: Pick<Dataset, 'height' | 'width' | 'channels' | 'numClasses' | 'name'>, configPath?: string): ResolvedExperiment {
  if (config.model.numClasses !== undefined && config.model.numClasses !== dataset.numClasses) {
    throw new TrainError('config', `model.numClasses is ${config.model.numClasses} but ${dataset.name} has ${dataset.numClasses} classes`, 'model.numClasses');
  }
  try {
    return resolveExperiment(config, dataset, { baseDir: configPath ? path.dirname(path.resolve(configPath)) : undefined });
  } catch (err) {
    if (err instanceof PlanError) throw new TrainError('plan', err.message, err.field);
    if (err instanceof GraphError) throw new TrainError('shape', err.message, err.issues[0]?.path.join('.') ?? 'model');
    if (err instanceof ShapeError) throw new TrainError('shape', `${err.message} (data ${dataset.height}×${dataset.width}×${dataset.channels})`, modelField(config));
    throw err;
  }
}
