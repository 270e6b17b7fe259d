// The torch engine: trains in a Python child process (python -m rpg_torch train --job JOB.json)
// with PyTorch on CUDA, Apple's MPS or every CPU core. The child reproduces the TypeScript core
// bit for bit (plan, inits, data order; python/rpg_torch) and writes checkpoints in the common
// format into the run folder; this driver relays its JSON-line events to the RunSink (which
// writes run.json and metrics.jsonl), maps Stop to a "stop" line (the child finishes its step
// and checkpoints) and turns a crash into a failure carrying the child's last error line.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { BackendName } from '../../core/config/schema';
import { describeDataset } from '../../core/data';
import { embeddedMnistDir } from '../../core/data/embedded-mnist';
import { resolveForData } from '../../core/experiment/resolve';
import type { ModelSpec } from '../../core/models/spec';
import type { BackendAvailability, Engine, EngineDescription, EngineEvalJob, EngineOutcome, EngineTrainJob, EvalOutcome, RunSink } from '../../core/engine';
import { TrainError, TrainErrorCode } from '../../core/errors';
import type { DofSummary } from '../../core/rpg/dof';
import type { EvalRow, TrainRow } from '../../core/train/rows';
import { lastLine, pythonEnv, pythonExecutable, pythonProblem, runPython } from './python';

/** What `python -m rpg_torch info` prints. */
export interface TorchInfo {
  readonly python: string;
  readonly pythonVersion: string;
  readonly torch: string;
  readonly torchOk: boolean;
  readonly cuda: string | null;
  readonly bf16: boolean;
  readonly distributed: boolean;
  readonly devices: readonly { type: 'cpu' | 'cuda' | 'mps'; name: string; index?: number; memoryBytes?: number; cores?: number }[];
  readonly threads: number;
}

export async function torchInfo(): Promise<TorchInfo> {
  const out = await runPython(['info']);
  try {
    return JSON.parse(out) as TorchInfo;
  } catch {
    throw new TrainError('backend', `${pythonExecutable()} -m rpg_torch info printed something that is not JSON: ${lastLine(out)}`, 'train.engine');
  }
}

/** The device a torch backend preference asks for: the tfjs-only names mean "let torch choose". */
function deviceOf(backend: BackendName | undefined): string {
  return backend === 'cuda' || backend === 'mps' || backend === 'cpu' ? backend : 'auto';
}

async function describe(preference: BackendName = 'auto'): Promise<EngineDescription> {
  const info = await torchInfo();
  const has = (t: string) => info.devices.some((d) => d.type === t);
  const backends: BackendAvailability[] = [
    { name: 'cuda', available: has('cuda'), detail: has('cuda') ? `CUDA ${info.cuda ?? ''}: ${info.devices.filter((d) => d.type === 'cuda').map((d) => d.name).join(', ')}` : 'no CUDA device visible to PyTorch' },
    { name: 'mps', available: has('mps'), detail: has('mps') ? "Apple GPU through PyTorch's MPS" : 'no Apple GPU (MPS) here' },
    { name: 'cpu', available: true, detail: `PyTorch on ${info.devices.find((d) => d.type === 'cpu')?.cores ?? '?'} cores` },
  ];
  const wanted = deviceOf(preference);
  const chosen = wanted !== 'auto' ? wanted : has('cuda') ? 'cuda' : has('mps') ? 'mps' : 'cpu';
  const available = backends.find((b) => b.name === chosen);
  if (!available?.available) throw new TrainError('backend', `backend "${chosen}" is not available to PyTorch here: ${available?.detail ?? 'unknown'}`, 'train.backend');
  if (!info.torchOk) throw new TrainError('backend', `PyTorch ${info.torch} in ${info.python} is too old: the torch engine needs 1.13 or newer (pip install --upgrade torch)`, 'train.engine');
  return {
    engine: 'torch',
    backend: chosen,
    reason: wanted === 'auto' ? 'the fastest device PyTorch sees (CUDA, then MPS, then CPU)' : 'requested',
    backends,
    threads: info.threads,
    devices: info.devices.map((d) => (d.memoryBytes ? `${d.name} (${(d.memoryBytes / 1024 ** 3).toFixed(1)} GiB)` : d.name)),
    versions: { python: `${info.pythonVersion} (${info.python})`, torch: info.torch },
  };
}

/** One JSON line of the child's stdout. */
type ChildEvent =
  | ({ event: 'start'; runDir: string; summary: DofSummary; totalSteps: number; stepsPerEpoch: number; startStep: number; backend: string; device: string; threads: number; worldSize: number; torch: string })
  | ({ event: 'row' } & TrainRow)
  | ({ event: 'eval' } & EvalRow)
  | { event: 'checkpoint'; path: string; step: number; epoch: number; bytes: number }
  | { event: 'log'; message: string }
  | ({ event: 'done' } & EngineOutcome)
  | { event: 'error'; code: string; message: string; field?: string; file?: string };

const ERROR_CODES: readonly TrainErrorCode[] = ['config', 'dataset', 'plan', 'shape', 'backend', 'nan', 'checkpoint', 'storage', 'locked', 'internal'];

function train(job: EngineTrainJob, sink: RunSink): Promise<EngineOutcome> {
  const python = pythonExecutable();
  const scratch = mkdtempSync(path.join(tmpdir(), 'rpg-torch-job-'));
  const jobFile = path.join(scratch, 'job.json');
  let embedded: string | null = null;
  let spec: ModelSpec;
  try {
    if (job.config.data.dataset === 'mnist-embedded') embedded = embeddedMnistDir();
    // The model as the TypeScript core resolves it: the child executes this spec, so any
    // architecture the core knows (graphs, imports) trains in torch with the same parameters.
    const baseDir = job.configPath ? path.dirname(path.resolve(job.configPath)) : process.cwd();
    spec = resolveForData(job.config, { ...describeDataset(job.config.data, baseDir), name: job.config.data.dataset }).spec;
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    return Promise.reject(err);
  }
  writeFileSync(
    jobFile,
    JSON.stringify({
      config: job.config,
      configPath: job.configPath ?? null,
      runDir: job.runDir,
      resume: job.resume?.file ?? null,
      embeddedMnistDir: embedded,
      device: deviceOf(job.backend ?? job.config.train.backend),
      threads: null,
      bf16: job.config.train.precision === 'bf16',
      spec,
      writeRunFiles: false,
    }),
  );
  return new Promise<EngineOutcome>((resolve, reject) => {
    let settled = false;
    const finish = (err: unknown, outcome?: EngineOutcome) => {
      if (settled) return;
      settled = true;
      job.signal?.removeEventListener('abort', onAbort);
      rmSync(scratch, { recursive: true, force: true });
      if (err) reject(err);
      else resolve(outcome!);
    };
    let env: NodeJS.ProcessEnv;
    try {
      env = pythonEnv();
    } catch (err) {
      finish(err);
      return;
    }
    const child = spawn(python, ['-m', 'rpg_torch', 'train', '--job', jobFile], { env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const stderr: string[] = [];
    let failure: TrainError | undefined;
    let outcome: EngineOutcome | undefined;
    // Stop: the child finishes its step, writes a checkpoint and reports "done" (stopped).
    const onAbort = () => child.stdin.write('stop\n');
    if (job.signal?.aborted) onAbort();
    else job.signal?.addEventListener('abort', onAbort);
    child.stdin.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) => finish(pythonProblem(python, e, '')));
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr.push(line);
      if (stderr.length > 200) stderr.shift();
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      let e: ChildEvent;
      try {
        e = JSON.parse(line) as ChildEvent;
      } catch {
        sink.log(`torch: ${line}`);
        return;
      }
      if (sinkError !== undefined) return;
      try {
        handle(e);
      } catch (err) {
        // The run folder refused a write (a full disk): stop the child and report that.
        sinkError = err;
        child.stdin.write('stop\n');
      }
    });
    let sinkError: unknown;
    const handle = (e: ChildEvent) => {
      switch (e.event) {
        case 'start':
          sink.started({
            // The record says the engine; the backend is the device kind alone (cpu, cuda, mps).
            engine: 'torch', backend: e.backend.replace(/^torch-/, ''), device: e.device, arch: e.summary.arch, dataset: job.config.data.dataset, summary: e.summary,
            totalSteps: e.totalSteps, stepsPerEpoch: e.stepsPerEpoch, startStep: e.startStep,
          });
          sink.log(`torch ${e.torch} on ${e.device} (${e.backend}), ${e.threads} thread(s)${e.worldSize > 1 ? `, ${e.worldSize} processes` : ''}`);
          return;
        case 'row': {
          const { event: _e, ...row } = e;
          sink.row(row as TrainRow);
          return;
        }
        case 'eval': {
          const { event: _e, ...row } = e;
          sink.evaluated(row as EvalRow);
          return;
        }
        case 'checkpoint':
          sink.checkpointWritten({ path: e.path, step: e.step, epoch: e.epoch, bytes: e.bytes });
          return;
        case 'log':
          // The run's end is logged once, by the run folder's driver.
          if (!/^run \S+ (finished|stopped) after/.test(e.message)) sink.log(e.message);
          return;
        case 'done':
          outcome = { status: e.status, steps: e.steps, epochs: e.epochs, bestAcc: e.bestAcc, finalAcc: e.finalAcc, durationSec: e.durationSec };
          return;
        case 'error': {
          const code = (ERROR_CODES as readonly string[]).includes(e.code) ? (e.code as TrainErrorCode) : 'internal';
          failure ??= new TrainError(code, e.message, e.field, e.file);
          return;
        }
      }
    };
    child.on('close', (code, signal) => {
      if (sinkError !== undefined) return finish(sinkError);
      if (failure) return finish(failure);
      if (outcome && code === 0) return finish(undefined, outcome);
      const text = stderr.join('\n');
      finish(pythonProblem(python, undefined, text) ?? new TrainError('internal', `the PyTorch engine ended ${signal ? `by signal ${signal}` : `with exit code ${code}`} before the run did: ${lastLine(text) || 'no error output'}`));
    });
  });
}

/** Checkpoints are one format: the tfjs engine evaluates a torch run's checkpoint too (`rpg eval`). */
async function evaluate(job: EngineEvalJob): Promise<EvalOutcome> {
  const { tfjsEngine } = require('../tfjs/engine') as typeof import('../tfjs/engine');
  const backend = job.backend === 'cuda' || job.backend === 'mps' ? undefined : job.backend;
  return tfjsEngine.evaluate({ ...job, ...(backend ? { backend } : {}) });
}

export const torchEngine: Engine = { name: 'torch', describe, train, evaluate };
