// config → model spec → plan → DoF summary: the single path every consumer (CLI, trainer,
// language server, sweeps) takes, so they can never disagree about a model's numbers.
import { buildModelSpec, ModelInput } from '../models/architectures';
import type { ModelSpec } from '../models/spec';
import { DofSummary, summarizeDof } from '../rpg/dof';
import { buildPlan, RpgPlan } from '../rpg/plan';
import type { RpgConfig } from '../config/schema';

export interface ResolvedExperiment {
  readonly config: RpgConfig;
  readonly spec: ModelSpec;
  /** Undefined when rpg.enabled is false (the plain model). */
  readonly plan: RpgPlan | undefined;
  readonly summary: DofSummary;
}

export function resolveExperiment(config: RpgConfig, input: ModelInput): ResolvedExperiment {
  const spec = buildModelSpec(config.model, input);
  const plan = config.rpg.enabled ? buildPlan(spec, config.rpg, config.seed) : undefined;
  return { config, spec, plan, summary: summarizeDof(spec, plan) };
}
