// DoF sweeps: train one config at several ring sizes (and the plain model as the 100%
// reference, optionally width-scaled and random-subspace baselines at equal DoF), fit
// accuracy ≈ a + b·ln(DoF) and predict the DoF a target accuracy needs. No vscode import:
// the CLI (`rpg sweep`) and the extension (through the trainer) both call `runSweep`.
//
// Seed policy: repeat r of every kind (RPG, width, subspace) uses seed = config.seed + r; the
// plain reference is trained once with config.seed. Every run has the config's epochs,
// optimizer and schedule. Accuracies are fractions (0..1); the fit uses each run's final test
// accuracy (not the best over epochs, which would select on the test set).
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BackendName, RpgConfig } from '../core/config/schema';
import { resolveExperiment } from '../core/experiment/resolve';
import { describeDataset } from '../core/data';
import { paramCount } from '../core/models/spec';
import { isGenerated, PlanError } from '../core/rpg/plan';
import { ShapeError } from '../core/models/shapes';
import { writeFileAtomic } from '../core/runs/atomic';
import { experimentFolderName, newRunId } from '../core/runs/layout';
import { trainRun } from '../core/runs/train-run';
import { learningRate, runLength } from '../core/train/schedule';
import { engineFor } from '../engines';
import { optimizerFor } from '../engines/tfjs/engine';
import { openSession } from '../engines/tfjs/session';
import { SubspaceNetwork } from '../engines/tfjs/subspace-generator';
import { TrainEvents } from '../core/engine';
import { TrainError } from '../core/errors';
import { fitLogLinear, predictDof } from '../core/sweep/fit';
import { trainLoop } from '../engines/tfjs/loop';
import { svgPlot, textPlot } from '../core/sweep/plot';
import { matchWidth } from './width';

export { fitLogLinear, predictAcc, predictDof } from '../core/sweep/fit';
export type { LogFit } from '../core/sweep/fit';
export { textPlot, svgPlot } from '../core/sweep/plot';

export const SWEEP_FILE = 'sweep.json';
export const SWEEP_SVG = 'sweep.svg';
export const DEFAULT_DOFS = [100, 300, 1000, 3000, 10000];

export type PointKind = 'rpg' | 'width' | 'subspace';

export interface SweepOptions {
  readonly config: RpgConfig;
  readonly configPath?: string;
  /** Sweeps go to <runsDir>/<name>-sweep/<sweepId>/. */
  readonly runsDir: string;
  /** Ring sizes M. */
  readonly dofs: readonly number[];
  readonly repeats?: number;
  readonly baselines?: boolean;
  /** Target accuracy as a fraction of the plain model's (default 0.95). */
  readonly target?: number;
  readonly backend?: BackendName;
  readonly signal?: AbortSignal;
  readonly sweepId?: string;
  /** Nonzeros per row of the subspace baseline's projection (default 2). */
  readonly subspaceNonzeros?: number;
}

export interface SweepPoint {
  readonly kind: PointKind;
  /** Ring size M (RPG), subspace dimension (subspace), the matched M (width). */
  readonly dof: number;
  readonly ringSize: number;
  /** What the optimizer trains: ring/z + free parameters (width: all parameters). */
  readonly totalDof: number;
  /** Parameters of the model that runs (the generated model's full count). */
  readonly params: number;
  readonly bestAcc: number;
  readonly finalAcc: number;
  readonly fractionOfReference: number;
  readonly durationSec: number;
  readonly runDir: string;
  readonly seed: number;
  /** Width baseline: the multiplier used. */
  readonly width?: number;
}

export interface SweepReference {
  readonly params: number;
  readonly bestAcc: number;
  readonly finalAcc: number;
  readonly durationSec: number;
  readonly runDir: string;
  readonly seed: number;
}

export interface SweepFile {
  readonly formatVersion: 1;
  readonly name: string;
  readonly arch: string;
  readonly dataset: string;
  readonly configPath: string | null;
  readonly status: 'running' | 'finished' | 'stopped';
  readonly createdAt: string;
  readonly durationSec: number;
  readonly seedPolicy: string;
  readonly metric: 'finalAcc';
  readonly epochs: number;
  readonly backend: string;
  readonly reference: SweepReference | null;
  readonly points: SweepPoint[];
  readonly fit: { a: number; b: number; r2: number } | null;
  readonly predict: { target: number; targetAcc: number; dof: number | null } | null;
}

export interface PointInfo {
  readonly index: number;
  readonly total: number;
  readonly kind: PointKind | 'plain';
  readonly dof: number;
  readonly seed: number;
}

export interface SweepEvents {
  onStart?(info: { dir: string; total: number }): void;
  onPointStart?(info: PointInfo): void;
  onPointDone?(info: PointInfo, point: SweepPoint | SweepReference): void;
  /** Per-run training events (rows, evals) of the run in progress. */
  readonly train?: TrainEvents;
  onLog?(message: string): void;
}

export interface SweepResult {
  readonly dir: string;
  readonly file: string;
  readonly svg: string;
  readonly sweep: SweepFile;
  readonly plot: string;
}

function usage(message: string): TrainError {
  return new TrainError('config', message, 'rpg.dof');
}

export async function runSweep(options: SweepOptions, events: SweepEvents = {}): Promise<SweepResult> {
  const log = (m: string) => events.onLog?.(m);
  const base = options.config;
  const repeats = options.repeats ?? 1;
  const target = options.target ?? 0.95;
  const dofs = [...new Set(options.dofs)].sort((a, b) => a - b);
  if (!dofs.length) throw usage('a sweep needs at least one DoF value');
  if (!Number.isInteger(repeats) || repeats < 1) throw usage(`--repeats must be a positive integer, got ${repeats}`);
  if (!(target > 0 && target <= 1.5)) throw usage(`--target is a fraction of the plain model's accuracy (e.g. 0.95), got ${target}`);

  // Check every ring size against the model before training anything.
  const baseDir = options.configPath ? path.dirname(path.resolve(options.configPath)) : process.cwd();
  let input;
  try {
    input = describeDataset(base.data, baseDir);
  } catch (err) {
    throw new TrainError('dataset', (err as Error).message, 'data.path');
  }
  const at = (dof: number, seed = base.seed): RpgConfig => ({ ...base, seed, name: `rpg-${dof}`, rpg: { ...base.rpg, enabled: true, dof } });
  const plainConfig: RpgConfig = { ...base, name: 'plain', rpg: { ...base.rpg, enabled: false } };
  let plainSpec;
  try {
    plainSpec = resolveExperiment(plainConfig, input).spec;
    for (const d of dofs) {
      if (!Number.isInteger(d) || d < 1) throw usage(`--dof values must be positive integers (ring sizes), got ${d}`);
      resolveExperiment(at(d), input);
    }
  } catch (err) {
    if (err instanceof PlanError) throw new TrainError('plan', err.message.replace(/^rpg\.dof:/, '--dof:'), 'rpg.dof');
    if (err instanceof ShapeError) throw new TrainError('shape', err.message, 'model.arch');
    throw err;
  }
  const plainParams = paramCount(plainSpec);
  const generatedNames = plainSpec.params.filter((p) => isGenerated(p, base.rpg)).map((p) => p.name);

  const sweepName = experimentFolderName(`${base.name ?? 'experiment'}-sweep`);
  const id = options.sweepId ?? newRunId();
  const dir = path.join(options.runsDir, sweepName, id);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, SWEEP_FILE);
  const svg = path.join(dir, SWEEP_SVG);
  const t0 = Date.now();
  const kinds: PointKind[] = options.baselines ? ['rpg', 'width', 'subspace'] : ['rpg'];
  const total = 1 + dofs.length * repeats * kinds.length;
  events.onStart?.({ dir, total });

  let reference: SweepReference | null = null;
  const points: SweepPoint[] = [];
  let backendName: string = options.backend ?? base.train.backend;
  let status: SweepFile['status'] = 'running';
  const snapshot = (): SweepFile => {
    const rpg = points.filter((p) => p.kind === 'rpg');
    const fit = fitLogLinear(rpg.map((p) => ({ dof: p.dof, acc: p.finalAcc })));
    const targetAcc = reference ? target * reference.finalAcc : NaN;
    const dof = fit && reference ? predictDof(fit, targetAcc) : undefined;
    return {
      formatVersion: 1, name: base.name ?? 'experiment', arch: base.model.arch, dataset: base.data.dataset, configPath: options.configPath ? path.resolve(options.configPath) : null,
      status, createdAt: new Date(t0).toISOString(), durationSec: (Date.now() - t0) / 1000,
      seedPolicy: 'repeat r uses seed = config.seed + r (RPG, width and subspace points); the plain reference uses config.seed',
      metric: 'finalAcc', epochs: base.train.epochs, backend: backendName, reference, points: [...points],
      fit: fit ? { a: fit.a, b: fit.b, r2: fit.r2 } : null,
      predict: reference && fit ? { target, targetAcc, dof: dof === undefined ? null : Math.round(dof) } : null,
    };
  };
  const save = () => {
    const s = snapshot();
    writeFileAtomic(file, JSON.stringify(s, null, 2) + '\n');
    writeFileSync(svg, svgPlot(plotInput(s)));
    return s;
  };
  const aborted = () => options.signal?.aborted ?? false;
  let index = 0;
  const trainOne = async (config: RpgConfig, runName: string, seed: number) => {
    const r = await trainRun(
      engineFor,
      { config: { ...config, name: runName, seed }, ...(options.configPath ? { configPath: options.configPath } : {}), runsDir: dir, runId: `seed${seed}`, ...(options.backend ? { backend: options.backend } : {}), ...(options.signal ? { signal: options.signal } : {}) },
      { ...events.train, onStart: (s) => { backendName = s.backend; events.train?.onStart?.(s); } },
    );
    return r;
  };

  // 1. The plain model: the 100% reference.
  {
    const info: PointInfo = { index: index++, total, kind: 'plain', dof: plainParams, seed: base.seed };
    events.onPointStart?.(info);
    log(`[${info.index + 1}/${total}] plain ${base.model.arch}: ${plainParams.toLocaleString('en-US')} parameters`);
    const r = await trainOne(plainConfig, 'plain', base.seed);
    reference = { params: plainParams, bestAcc: r.bestAcc, finalAcc: r.finalAcc, durationSec: r.durationSec, runDir: r.runDir, seed: base.seed };
    events.onPointDone?.(info, reference);
    save();
  }

  const fraction = (acc: number) => (reference && reference.finalAcc > 0 ? acc / reference.finalAcc : 0);
  outer: for (const kind of kinds) {
    for (const dof of dofs) {
      for (let rep = 0; rep < repeats; rep++) {
        if (aborted()) break outer;
        const seed = base.seed + rep;
        const info: PointInfo = { index: index++, total, kind, dof, seed };
        events.onPointStart?.(info);
        const rpgResolved = resolveExperiment(at(dof, seed), input);
        const rpgDof = rpgResolved.summary.dof;
        let point: SweepPoint;
        if (kind === 'rpg') {
          log(`[${info.index + 1}/${total}] RPG M=${dof.toLocaleString('en-US')} (DoF ${rpgDof.toLocaleString('en-US')}), seed ${seed}`);
          const r = await trainOne(at(dof, seed), `rpg-${dof}`, seed);
          point = { kind, dof, ringSize: dof, totalDof: rpgDof, params: rpgResolved.summary.totalParams, bestAcc: r.bestAcc, finalAcc: r.finalAcc, fractionOfReference: fraction(r.finalAcc), durationSec: r.durationSec, runDir: r.runDir, seed };
        } else if (kind === 'width') {
          const m = matchWidth(plainConfig, input, rpgDof);
          log(`[${info.index + 1}/${total}] width baseline for M=${dof.toLocaleString('en-US')}: width ${m.width} → ${m.params.toLocaleString('en-US')} parameters (target ${rpgDof.toLocaleString('en-US')}), seed ${seed}`);
          const cfg: RpgConfig = { ...plainConfig, model: { ...plainConfig.model, width: m.width } };
          const r = await trainOne(cfg, `width-${dof}`, seed);
          point = { kind, dof, ringSize: 0, totalDof: m.params, params: m.params, bestAcc: r.bestAcc, finalAcc: r.finalAcc, fractionOfReference: fraction(r.finalAcc), durationSec: r.durationSec, runDir: r.runDir, seed, width: m.width };
        } else {
          log(`[${info.index + 1}/${total}] random-subspace baseline, dimension ${dof.toLocaleString('en-US')}, seed ${seed}`);
          const runDir = path.join(dir, `subspace-${dof}`, `seed${seed}`);
          const r = await trainSubspace({ ...plainConfig, seed }, options, generatedNames, dof, options.subspaceNonzeros ?? 2, (s) => (backendName = s));
          mkdirSync(runDir, { recursive: true });
          writeFileSync(path.join(runDir, 'result.json'), JSON.stringify({ kind, dim: dof, seed, nonzeros: options.subspaceNonzeros ?? 2, ...r }, null, 2) + '\n');
          const freeCount = plainParams - generatedNames.reduce((s, n) => s + plainSpec.params.find((p) => p.name === n)!.size, 0);
          point = { kind, dof, ringSize: dof, totalDof: dof + freeCount, params: plainParams, bestAcc: r.bestAcc, finalAcc: r.finalAcc, fractionOfReference: fraction(r.finalAcc), durationSec: r.durationSec, runDir, seed };
        }
        points.push(point);
        events.onPointDone?.(info, point);
        save();
      }
    }
  }
  status = aborted() ? 'stopped' : 'finished';
  const sweep = save();
  return { dir, file, svg, sweep, plot: textPlot(plotInput(sweep)) };
}

/** The random-subspace baseline: the plain model's generated kernels as θ = P·z, z trained (tfjs engine only). */
async function trainSubspace(config: RpgConfig, options: SweepOptions, generatedNames: string[], dim: number, nonzeros: number, onBackend: (name: string) => void) {
  const session = await openSession(config, options.configPath, options.backend);
  onBackend(session.backend.name);
  session.net.dispose();
  const net = new SubspaceNetwork(session.resolved.spec, generatedNames, dim, config.seed, nonzeros);
  const optimizer = optimizerFor({ ...session, net, materialized: net.materialized });
  try {
    const { stepsPerEpoch, totalSteps } = runLength(config.train, session.dataset.train.count);
    const r = await trainLoop(net, optimizer, session.dataset, config, { totalSteps, stepsPerEpoch, lr: (step) => learningRate(config.train, step, totalSteps), ...(options.signal ? { signal: options.signal } : {}) });
    return { steps: r.steps, bestAcc: r.bestAcc, finalAcc: r.finalAcc, durationSec: r.elapsedSec };
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}

export function plotInput(s: SweepFile) {
  return {
    title: `${s.arch} on ${s.dataset}: test accuracy vs DoF${s.fit ? ` (fit ${(s.fit.a * 100).toFixed(2)}% + ${(s.fit.b * 100).toFixed(2)}%·ln M, R² ${s.fit.r2.toFixed(3)})` : ''}`,
    points: s.points.map((p) => ({ dof: p.kind === 'width' ? p.totalDof : p.dof, acc: p.finalAcc, kind: p.kind })),
    ...(s.fit ? { fit: s.fit } : {}),
    ...(s.reference ? { reference: s.reference.finalAcc } : {}),
  };
}
