// Findings that need the real model: the config is resolved exactly as the trainer resolves it
// (config → ModelSpec → counted plan → DoF summary, see src/core/experiment/resolve.ts), so every count
// shown in the editor is the trainer's count. Nothing here allocates a tensor.
import { nominalDatasetInfo } from '../core/data/standard-shapes';
import * as path from 'node:path';
import type { DataConfig, RpgConfig, TrainConfig } from '../core/config/schema';
import { resolveExperiment, ResolvedExperiment } from '../core/experiment/resolve';
import type { DatasetInfo } from '../core/data/types';
import { DatasetError } from '../core/data/types';
import type { ModelInput } from '../core/models/architectures';
import { ShapeError } from '../core/models/shapes';
import { closestName, GraphError, GraphIssue } from '../core/models/graph';
import { modelLabel, modelNotes } from '../core/models/architectures';
import { modelField } from '../core/experiment/resolve';
import { FREE_KINDS, PlanError, resolveRingSize, unknownFreeEntries } from '../core/rpg/plan';
import { BROWSE_DATA_PATH_COMMAND, Finding, QuickFix } from './findings';
import { detectDatasetFolders } from '../core/data/locate';
import { count, percent, ratio } from '../core/format/numbers';
import type { JsonPath } from './json-tree';
import type { Section } from './schema-diagnostics';
import { predictAccuracy, SweepLookup } from './sweep-index';

export type DescribeDataset = (cfg: DataConfig, baseDir: string) => DatasetInfo;

export interface SemanticInput {
  readonly config: RpgConfig;
  readonly validSections: ReadonlySet<Section>;
  /** Folder of the config file; undefined for an unsaved document. */
  readonly baseDir: string | undefined;
  readonly describeDataset: DescribeDataset;
  readonly sweeps?: SweepLookup;
}

export interface SemanticResult {
  readonly findings: Finding[];
  /** The resolved experiment, when the model and plan could be built. */
  readonly resolved?: ResolvedExperiment;
  /**
   * When rpg.dof is unusable, the same experiment at DoF 100%: hover still shows the model's
   * numbers and quick fixes know the generated count.
   */
  readonly fallback?: ResolvedExperiment;
  readonly dataset?: DatasetInfo;
}

const DOF: JsonPath = ['rpg', 'dof'];
/** The DoF choices offered as quick fixes, as percentages of the generated parameters. */
export const DOF_PERCENT_FIXES = ['1%', '10%', '18%'] as const;

export function semanticFindings(input: SemanticInput): SemanticResult {
  const { config } = input;
  const findings: Finding[] = [];
  if (input.validSections.has('train')) findings.push(...trainingRangeFindings(config.train));
  if (!['model', 'rpg', 'data', 'seed'].every((s) => input.validSections.has(s as Section))) return { findings };

  const data = datasetFacts(config.data, input.baseDir, input.describeDataset);
  findings.push(...data.findings);
  if (data.info) findings.push(...numClassesFindings(config, data.info));

  const modelInput = data.info ?? nominalInput(config);
  const plan = resolvePlan(config, modelInput, input.baseDir);
  findings.push(...plan.findings);
  if (plan.resolved && (config.model.graph || config.model.import !== undefined)) findings.push(...graphNotes(config, modelInput, input.baseDir));
  if (plan.resolved) {
    findings.push(...dofFindings(plan.resolved));
    if (input.sweeps) findings.push(...sweepFindings(plan.resolved, input.sweeps, input.baseDir));
  }
  return { findings, ...(plan.resolved ? { resolved: plan.resolved } : {}), ...(plan.fallback ? { fallback: plan.fallback } : {}), ...(data.info ? { dataset: data.info } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Dataset

export interface DatasetFacts {
  readonly info?: DatasetInfo;
  readonly findings: Finding[];
}

export function datasetFacts(data: DataConfig, baseDir: string | undefined, describe: DescribeDataset): DatasetFacts {
  // An unsaved document has no folder to resolve a relative data.path against.
  if (baseDir === undefined && data.dataset !== 'mnist-embedded' && !(data.path && path.isAbsolute(data.path))) return { findings: [] };
  try {
    return { info: describe(data, baseDir ?? path.sep), findings: [] };
  } catch (err) {
    return { findings: [datasetErrorFinding(data, err, dataPathFixes(data, baseDir, describe))] };
  }
}

/**
 * Fixes for a dataset that cannot be read: each folder on this machine that holds it (Debian's
 * dataset-fashion-mnist at /usr/share/datasets/fashion-mnist, data/<name> beside the config),
 * then "Browse…" (a folder picker in the extension).
 */
export function dataPathFixes(data: DataConfig, baseDir: string | undefined, describe: DescribeDataset): QuickFix[] {
  if (data.dataset === 'mnist-embedded') return [];
  const found = detectDatasetFolders(data.dataset, baseDir, (cfg, dir) => describe({ ...data, ...cfg }, dir))
    .filter((f) => !(data.path && baseDir && path.resolve(baseDir, data.path) === f.absolute));
  return [
    ...found.map((f) => ({ title: `Use ${f.absolute} (${data.dataset} found there: ${count(f.info.trainCount ?? 0)} training images)`, newText: JSON.stringify(f.path) })),
    { title: 'Browse for the dataset folder…', newText: '', command: BROWSE_DATA_PATH_COMMAND },
  ];
}

function datasetErrorFinding(data: DataConfig, err: unknown, fixes: readonly QuickFix[] = []): Finding {
  const hasPath = data.path !== undefined;
  const where: JsonPath = hasPath ? ['data', 'path'] : ['data', 'dataset'];
  // Without a data.path the fixes would replace data.dataset: only a path's value is replaced.
  if (!hasPath) fixes = [];
  if (!(err instanceof DatasetError)) {
    return { code: 'rpg-dataset-path', severity: 'error', path: where, target: 'value', message: `data: cannot read the dataset: ${err instanceof Error ? err.message : String(err)}`, ...(fixes.length ? { fixes } : {}) };
  }
  // DatasetError.file is either a config field ("data.path") or the file/folder at fault.
  const missing = err.file === 'data.path' || err.reason === 'folder not found' || err.reason === 'not a folder' || /not found|no such file|ENOENT/i.test(err.reason);
  const message = err.file.startsWith('data.')
    ? `${err.file}: ${err.reason}`
    : `data.path: ${err.reason}: ${err.file}`;
  return { code: missing ? 'rpg-dataset-path' : 'rpg-dataset-format', severity: 'error', path: where, target: 'value', message, ...(fixes.length ? { fixes } : {}) };
}

export function numClassesFindings(config: RpgConfig, info: DatasetInfo): Finding[] {
  const n = config.model.numClasses;
  if (n === undefined || n === info.numClasses) return [];
  const dataset = config.data.dataset;
  return [{
    code: 'rpg-num-classes',
    severity: 'error',
    path: ['model', 'numClasses'],
    target: 'value',
    message: `model.numClasses is ${count(n)} but ${dataset} has ${count(info.numClasses)} classes`,
    fixes: [{ title: `Fix numClasses to ${info.numClasses} for ${dataset}`, newText: String(info.numClasses) }],
  }];
}

/**
 * Input shape when the dataset cannot be described (missing folder, unsaved file): the
 * dataset's standard size, so the model's numbers still show while the path is being fixed.
 */
export function nominalInput(config: RpgConfig): ModelInput {
  return nominalDatasetInfo(config.data, config.model.numClasses);
}

// ---------------------------------------------------------------------------------------------
// Model and plan

export interface PlanOutcome {
  readonly resolved?: ResolvedExperiment;
  readonly fallback?: ResolvedExperiment;
  readonly findings: Finding[];
}

export function resolvePlan(config: RpgConfig, input: ModelInput, baseDir?: string): PlanOutcome {
  try {
    return { resolved: resolveExperiment(config, input, { baseDir }), findings: [] };
  } catch (err) {
    if (err instanceof GraphError) return { findings: err.issues.map(graphFinding) };
    if (err instanceof ShapeError) {
      return { findings: [{ code: 'rpg-shape', severity: 'error', path: modelField(config).split('.'), target: 'value', message: `${modelLabel(config.model)} cannot run on ${input.height}×${input.width}×${input.channels} inputs: ${err.message}` }] };
    }
    if (err instanceof PlanError) return planErrorOutcome(config, input, err, baseDir);
    throw err;
  }
}

const GRAPH_CODES: Record<GraphIssue['code'], Finding['code']> = {
  'graph-unknown-input': 'rpg-graph-unknown-input',
  'graph-unknown-block': 'rpg-graph-unknown-input',
  'graph-cycle': 'rpg-graph-cycle',
  'graph-shape': 'rpg-graph-shape',
  'graph-unreachable': 'rpg-graph-unreachable',
  'graph-duplicate-id': 'rpg-graph',
  'graph-attribute': 'rpg-graph',
  'graph-output': 'rpg-graph',
  'import-unsupported': 'rpg-import-unsupported',
  'import-file': 'rpg-import',
};

/** A graph or import issue at its JSON path (an attribute's key when it should not be there). */
export function graphFinding(issue: GraphIssue): Finding {
  const unexpected = issue.code === 'graph-attribute' && / has no attribute /.test(issue.message);
  return {
    code: GRAPH_CODES[issue.code], severity: issue.severity, path: issue.path, target: unexpected ? 'key' : 'value', message: issue.message,
    ...(issue.fix ? { fixes: [issue.fix] } : {}),
  };
}

/** What a graph or import that builds is worth saying: unreachable nodes, a softmax left to the loss. */
function graphNotes(config: RpgConfig, input: ModelInput, baseDir: string | undefined): Finding[] {
  const { warnings, notes } = modelNotes(config.model, input, { baseDir });
  const where: JsonPath = config.model.graph ? ['model', 'graph'] : ['model', 'import'];
  return [...warnings.map(graphFinding), ...notes.map((message): Finding => ({ code: 'rpg-graph', severity: 'information', path: where, target: 'key', message }))];
}

function planErrorOutcome(config: RpgConfig, input: ModelInput, err: PlanError, baseDir: string | undefined): PlanOutcome {
  if (err.field.startsWith('rpg.free.')) {
    // Without the unknown entries the model still plans: hover and completion keep its layers.
    let fallback: ResolvedExperiment | undefined;
    let fixes: QuickFix[] = [];
    const index = Number(err.field.split('.')[2]);
    try {
      const { spec } = resolveExperiment({ ...config, rpg: { ...config.rpg, enabled: false } }, input, { baseDir });
      const unknown = new Set(unknownFreeEntries(spec, config.rpg.free).map(([i]) => i));
      const best = closestName(config.rpg.free?.[index] ?? '', [...FREE_KINDS, ...new Set(spec.params.map((p) => p.layer))]);
      if (best !== undefined) fixes = [{ title: `Change to "${best}"`, newText: JSON.stringify(best) }];
      fallback = resolveExperiment({ ...config, rpg: { ...config.rpg, free: (config.rpg.free ?? []).filter((_, i) => !unknown.has(i)) } }, input, { baseDir });
    } catch {
      fallback = undefined;
    }
    return { findings: [{ code: 'rpg-free-unknown', severity: 'error', path: ['rpg', 'free', index], target: 'value', message: err.message, ...(fixes.length ? { fixes } : {}) }], ...(fallback ? { fallback } : {}) };
  }
  if (err.field !== 'rpg.dof') {
    return { findings: [{ code: 'rpg-plan', severity: 'error', path: err.field.split('.'), target: 'key', message: err.message }] };
  }
  // The same experiment at 100% tells the generated count N without re-deriving it here.
  let fallback: ResolvedExperiment | undefined;
  try {
    fallback = resolveExperiment({ ...config, rpg: { ...config.rpg, dof: '100%' } }, input, { baseDir });
  } catch {
    fallback = undefined;
  }
  const n = fallback?.plan?.generatedCount;
  const tooLarge = n !== undefined && typeof config.rpg.dof === 'number' ? config.rpg.dof > n : n !== undefined && parseFloat(String(config.rpg.dof)) > 100;
  if (!tooLarge || n === undefined) {
    return { findings: [{ code: 'rpg-dof-invalid', severity: 'error', path: DOF, target: 'value', message: err.message }], ...(fallback ? { fallback } : {}) };
  }
  const fixes: QuickFix[] = [
    { title: `Set DoF to the generated parameter count (${count(n)})`, newText: String(n) },
    ...DOF_PERCENT_FIXES.map((p) => ({ title: `Set DoF to ${p} of parameters (${count(resolveRingSize(p, n))})`, newText: JSON.stringify(p) })),
  ];
  return { findings: [{ code: 'rpg-dof-too-large', severity: 'error', path: DOF, target: 'value', message: err.message, fixes }], ...(fallback ? { fallback } : {}) };
}

/** A generated layer that sees fewer distinct ring entries than one of its fans. */
export interface StarvedLayer {
  readonly layer: string;
  readonly distinct: number;
  readonly fan: 'fan-in' | 'fan-out';
  readonly fanSize: number;
}

export function starvedLayers(resolved: ResolvedExperiment): StarvedLayer[] {
  const params = new Map(resolved.spec.params.map((p) => [p.name, p]));
  const out: StarvedLayer[] = [];
  for (const row of resolved.summary.rows) {
    const p = params.get(row.name);
    if (!row.generated || row.distinctEntries === undefined || !p) continue;
    const fan = p.fanIn >= p.fanOut ? { fan: 'fan-in' as const, fanSize: p.fanIn } : { fan: 'fan-out' as const, fanSize: p.fanOut };
    if (row.distinctEntries < fan.fanSize) out.push({ layer: row.layer, distinct: row.distinctEntries, ...fan });
  }
  return out;
}

export function dofFindings(resolved: ResolvedExperiment): Finding[] {
  const { summary, config } = resolved;
  if (!resolved.plan) return [];
  const findings: Finding[] = [];
  const dof = config.rpg.dof;
  const asWritten = typeof dof === 'string' ? `"${dof.trim()}"` : count(dof);
  findings.push({
    code: 'rpg-dof-resolved',
    severity: 'information',
    path: DOF,
    target: 'value',
    message:
      `rpg.dof ${asWritten} = a ring of ${count(summary.ringSize)} entries for ${count(summary.generatedParams)} generated weights ` +
      `(${percent(summary.ringFraction, 2)}, reuse ${ratio(summary.reuse)}); DoF ${count(summary.dof)} of ${count(summary.totalParams)} parameters ` +
      `(compression ${ratio(summary.compression)})`,
  });

  const starved = starvedLayers(resolved);
  const tooMuchReuse = summary.reuse > config.rpg.minReuseWarning;
  if (starved.length || tooMuchReuse) {
    const reasons: string[] = [];
    if (tooMuchReuse) reasons.push(`each ring entry feeds ${ratio(summary.reuse)} weights on average (N/M = ${count(summary.generatedParams)}/${count(summary.ringSize)}, above rpg.minReuseWarning ${count(config.rpg.minReuseWarning)})`);
    if (starved.length) {
      const shown = starved.slice(0, 3).map((s) => `${s.layer}: ${count(s.distinct)} entries < ${s.fan} ${count(s.fanSize)}`).join(', ');
      const more = starved.length > 3 ? ` and ${starved.length - 3} more` : '';
      reasons.push(`${starved.length} layer${starved.length > 1 ? 's' : ''} read fewer distinct ring entries than their fan-in/fan-out (${shown}${more})`);
    }
    const larger = DOF_PERCENT_FIXES.map((p) => ({ p, m: resolveRingSize(p, summary.generatedParams) })).filter((x) => x.m > summary.ringSize);
    findings.push({
      code: 'rpg-dof-reuse',
      severity: 'warning',
      path: DOF,
      target: 'value',
      message: `rpg.dof: reuse factor ${ratio(summary.reuse)} is very high: ${reasons.join('; ')}`,
      fixes: larger.map(({ p, m }) => ({ title: `Set DoF to ${p} of parameters (${count(m)})`, newText: JSON.stringify(p) })),
    });
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Training settings

/** Learning rates outside these bounds are almost always a typo (per optimizer). */
export const LR_RANGES: Readonly<Record<TrainConfig['optimizer'], readonly [number, number]>> = {
  adam: [1e-5, 1e-2],
  sgd: [1e-4, 1],
};
/** What "reset" sets: Adam's usual rate, and the plain model's SGD rate (README, lr normalization). */
export const LR_DEFAULTS: Readonly<Record<TrainConfig['optimizer'], number>> = { adam: 0.001, sgd: 0.1 };
export const BATCH_RANGE = [8, 4096] as const;
export const MAX_SANE_EPOCHS = 1000;

export function trainingRangeFindings(train: TrainConfig): Finding[] {
  const out: Finding[] = [];
  const [lo, hi] = LR_RANGES[train.optimizer];
  if (train.lr < lo || train.lr > hi) {
    const usual = LR_DEFAULTS[train.optimizer];
    out.push({
      code: 'rpg-lr-range', severity: 'warning', path: ['train', 'lr'], target: 'value',
      message: `train.lr ${train.lr} is unusually ${train.lr > hi ? 'high' : 'low'} for ${train.optimizer} (expected ${lo} … ${hi})`,
      fixes: [{ title: `Reset train.lr to ${usual} (the usual ${train.optimizer} learning rate)`, newText: String(usual) }],
    });
  }
  if (train.batchSize < BATCH_RANGE[0] || train.batchSize > BATCH_RANGE[1]) {
    out.push({
      code: 'rpg-batch-range', severity: 'warning', path: ['train', 'batchSize'], target: 'value',
      message: `train.batchSize ${count(train.batchSize)} is unusually ${train.batchSize > BATCH_RANGE[1] ? 'large' : 'small'} (expected ${BATCH_RANGE[0]} … ${BATCH_RANGE[1]})`,
    });
  }
  if (train.epochs > MAX_SANE_EPOCHS) {
    out.push({
      code: 'rpg-epochs-range', severity: 'warning', path: ['train', 'epochs'], target: 'value',
      message: `train.epochs ${count(train.epochs)} is more than ${count(MAX_SANE_EPOCHS)}: is this intended?`,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sweep prediction

export function sweepFindings(resolved: ResolvedExperiment, sweeps: SweepLookup, baseDir: string | undefined): Finding[] {
  const { config, summary } = resolved;
  if (!resolved.plan) return [];
  const sweep = sweeps.find(modelLabel(config.model), config.data.dataset);
  if (!sweep) return [];
  const prediction = predictAccuracy(sweep, summary.ringSize);
  if (!prediction) return [];
  const file = baseDir ? path.relative(baseDir, sweep.file) : sweep.file;
  const r2 = Number.isFinite(sweep.fit.r2) ? `, R² ${sweep.fit.r2.toFixed(2)}` : '';
  const range = prediction.range ? `${count(prediction.range[0])}–${count(prediction.range[1])}` : 'none';
  const extrapolated = prediction.extrapolated ? ` (extrapolated: the sweep measured ring sizes ${range})` : '';
  return [{
    code: 'rpg-sweep-prediction',
    severity: 'information',
    path: DOF,
    target: 'value',
    message: `The ${modelLabel(config.model)}/${config.data.dataset} sweep (${file}${r2}) predicts ≈ ${percent(prediction.accuracy)} accuracy at ring size ${count(summary.ringSize)}${extrapolated}`,
  }];
}
