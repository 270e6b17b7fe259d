// The CLI's other commands as trainer jobs, so the editor runs them without loading tfjs itself:
// a DoF sweep, ring compression, export and evaluation. One job at a time (each uses the whole
// backend), in order; each ends in exactly one job/finished or job/failed, with progress
// notifications in between. Cancel stops a sweep or a fine-tuning after its current step; the
// short jobs (export, eval) are only cancelled before they start.
import * as path from 'node:path';
import type { BackendName } from '../core/config/schema';
import { describeFailure, TrainError } from '../core/errors';
import { loadConfigRef } from '../core/experiment/planning';
import { checkRunsFolder } from '../core/runs/check-folder';
import { compressRun, openRpgz, RPGZ_EXT } from '../compress';
import { evaluateCheckpoint } from '../engines/evaluate-checkpoint';
import { evaluate } from '../engines/tfjs/session';
import { exportTfjs } from '../export';
import { jobFailedNotification, jobFinishedNotification, jobProgressNotification, JobResult, JobSpec, JobStartParams } from '../protocol';
import { invalidParams } from '../protocol/errors';
import { runSweep } from '../sweep';
import * as log from './log';
import type { Notify } from './runs';

interface Job {
  readonly jobId: string;
  readonly spec: JobSpec;
  readonly backend?: BackendName;
  readonly controller: AbortController;
}

/** Progress rows per second per job, at most (a sweep's training rows come much faster). */
const PROGRESS_EVERY_MS = 250;

export class JobRunner {
  private readonly waiting: Job[] = [];
  private running: Job | undefined;
  private next = 1;

  constructor(private readonly notify: Notify) {}

  /** Checks the request, queues it and returns its id; the job reports through notifications. */
  start(params: JobStartParams): string {
    const spec = checkJob(params);
    const jobId = `job-${this.next++}`;
    this.waiting.push({ jobId, spec, ...(params.backend ? { backend: params.backend } : {}), controller: new AbortController() });
    if (!this.running) void this.pump();
    return jobId;
  }

  cancel(jobId: string): boolean {
    const queued = this.waiting.findIndex((j) => j.jobId === jobId);
    if (queued >= 0) {
      const [job] = this.waiting.splice(queued, 1);
      this.notify(jobFailedNotification, { jobId, kind: job!.spec.kind, code: 'cancelled', message: 'cancelled before it started: nothing was done' });
      return true;
    }
    if (this.running?.jobId !== jobId) return false;
    this.running.controller.abort();
    return true;
  }

  /** Stops everything (the trainer is shutting down). */
  cancelAll(): void {
    for (const j of [...this.waiting]) this.cancel(j.jobId);
    this.running?.controller.abort();
  }

  private async pump(): Promise<void> {
    while (!this.running && this.waiting.length) {
      const job = this.waiting.shift()!;
      this.running = job;
      // After the job/start answer has gone out.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        if (job.controller.signal.aborted) throw new TrainError('internal', 'cancelled before it started: nothing was done');
        const result = await this.execute(job);
        this.notify(jobFinishedNotification, { jobId: job.jobId, result });
      } catch (err) {
        const failure = describeFailure(err);
        const cancelled = job.controller.signal.aborted;
        log.error(`${job.jobId} (${job.spec.kind}) ${cancelled ? 'cancelled' : 'failed'}: ${failure.stack ?? failure.message}`);
        this.notify(jobFailedNotification, { jobId: job.jobId, kind: job.spec.kind, code: cancelled ? 'cancelled' : failure.code, message: failure.message, ...(failure.field ? { field: failure.field } : {}), ...(failure.file ? { file: failure.file } : {}) });
      } finally {
        this.running = undefined;
      }
    }
  }

  private execute(job: Job): Promise<JobResult> {
    let last = 0;
    const progress = (message: string, fraction?: number, runDir?: string, force = false): void => {
      const now = Date.now();
      if (!force && now - last < PROGRESS_EVERY_MS) return;
      last = now;
      this.notify(jobProgressNotification, { jobId: job.jobId, message, ...(fraction !== undefined ? { fraction: Math.max(0, Math.min(1, fraction)) } : {}), ...(runDir ? { runDir } : {}) });
    };
    log.info(`${job.jobId}: ${job.spec.kind} ${JSON.stringify(job.spec)}`);
    switch (job.spec.kind) {
      case 'sweep':
        return sweepJob(job, job.spec, progress);
      case 'compress':
        return compressJob(job, job.spec, progress);
      case 'export':
        return exportJob(job, job.spec, progress);
      case 'eval':
        return evalJob(job, job.spec, progress);
    }
  }
}

type Progress = (message: string, fraction?: number, runDir?: string, force?: boolean) => void;

async function sweepJob(job: Job, spec: Extract<JobSpec, { kind: 'sweep' }>, progress: Progress): Promise<JobResult> {
  const { config, configPath } = loadConfigRef(spec);
  let point = { index: 0, total: 1, label: '' };
  const r = await runSweep(
    {
      config, ...(configPath ? { configPath } : {}), runsDir: checkRunsFolder(spec.runsDir), dofs: spec.dofs,
      ...(spec.repeats ? { repeats: spec.repeats } : {}), ...(spec.baselines ? { baselines: true } : {}),
      ...(job.backend ? { backend: job.backend } : {}), signal: job.controller.signal,
    },
    {
      onPointStart: (p) => {
        point = { index: p.index, total: p.total, label: `${p.kind === 'plain' ? 'plain reference' : p.kind === 'rpg' ? `RPG M = ${p.dof.toLocaleString('en-US')}` : `${p.kind} baseline ${p.dof.toLocaleString('en-US')}`}, seed ${p.seed}` };
        progress(`run ${p.index + 1}/${p.total}: ${point.label}`, p.index / p.total, undefined, true);
      },
      train: {
        onStart: (s) => progress(`run ${point.index + 1}/${point.total}: ${point.label}`, point.index / point.total, s.runDir, true),
        onTrainRow: (row) => progress(`run ${point.index + 1}/${point.total}: ${point.label} · step ${row.step.toLocaleString('en-US')}`, (point.index + row.progress) / point.total),
      },
      onLog: (m) => log.info(`${job.jobId}: ${m}`),
    },
  );
  const s = r.sweep;
  return { kind: 'sweep', dir: r.dir, file: r.file, points: s.points.length + (s.reference ? 1 : 0), fit: s.fit, predictedDof: s.predict?.dof ?? null, target: s.predict?.target ?? null, status: s.status === 'stopped' ? 'stopped' : 'finished' };
}

async function compressJob(job: Job, spec: Extract<JobSpec, { kind: 'compress' }>, progress: Progress): Promise<JobResult> {
  const r = await compressRun({
    runDir: spec.runDir, prune: spec.prune, bits: spec.bits, ...(spec.finetune ? { finetune: spec.finetune } : {}), ...(spec.out ? { out: spec.out } : {}),
    ...(job.backend ? { backend: job.backend } : {}), signal: job.controller.signal,
    onLog: (m) => progress(m, undefined, undefined, true),
  });
  return { kind: 'compress', file: r.file, bytes: r.sizes.total, plainBytes: r.plainBytes, before: r.before.acc, after: r.after.acc, kept: r.kept, ringSize: r.ringSize, bits: r.bits };
}

async function exportJob(job: Job, spec: Extract<JobSpec, { kind: 'export' }>, progress: Progress): Promise<JobResult> {
  const base = spec.source.replace(/[\\/]+$/, '');
  const dir = path.resolve(spec.out ?? (base.endsWith(RPGZ_EXT) ? base.slice(0, -RPGZ_EXT.length) + '-tfjs' : path.join(base, 'tfjs')));
  progress(`building the TensorFlow.js model in ${dir}`, undefined, undefined, true);
  const r = await exportTfjs(spec.source, dir, job.backend);
  return { kind: 'export', dir: r.dir, bytes: r.bytes, params: r.params, agreement: r.argmaxAgreement, relDiff: r.relDiff };
}

async function evalJob(job: Job, spec: Extract<JobSpec, { kind: 'eval' }>, progress: Progress): Promise<JobResult> {
  const target = path.resolve(spec.target);
  progress(`evaluating ${target} on its test split`, undefined, undefined, true);
  if (target.endsWith(RPGZ_EXT)) {
    const { session } = await openRpgz(target, job.backend);
    try {
      const r = await evaluate(session.net, session.dataset, 'test');
      return { kind: 'eval', target, acc: r.acc, loss: r.loss, examples: session.dataset.test.count, dataset: session.dataset.name, backend: session.backend.name };
    } finally {
      session.net.dispose();
    }
  }
  const r = await evaluateCheckpoint(target, job.backend);
  return { kind: 'eval', target, acc: r.acc, loss: r.loss, examples: r.examples, dataset: r.dataset, backend: r.backend, step: r.step };
}

/** A job request, checked field by field: a wrong value is an error naming it. */
function checkJob(p: JobStartParams | undefined): JobSpec {
  if (!p || typeof p !== 'object') throw invalidParams('job/start needs { kind, … }', 'kind');
  const str = (v: unknown, field: string): string => {
    if (typeof v !== 'string' || !v) throw invalidParams(`${field} must be a non-empty string`, field);
    return v;
  };
  const num = (v: unknown, field: string, ok: (n: number) => boolean, what: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw invalidParams(`${field} must be ${what}, got ${JSON.stringify(v)}`, field);
    return v;
  };
  switch (p.kind) {
    case 'sweep': {
      if (!Array.isArray(p.dofs) || !p.dofs.length) throw invalidParams('dofs must be a non-empty list of ring sizes', 'dofs');
      const dofs = p.dofs.map((d, i) => num(d, `dofs.${i}`, (n) => Number.isInteger(n) && n >= 1, 'a positive integer ring size'));
      if (p.configPath === undefined && p.text === undefined) throw invalidParams('a sweep needs configPath or text', 'configPath');
      return {
        kind: 'sweep', runsDir: str(p.runsDir, 'runsDir'), dofs,
        ...(p.configPath !== undefined ? { configPath: str(p.configPath, 'configPath') } : {}), ...(p.text !== undefined ? { text: String(p.text) } : {}),
        ...(p.repeats !== undefined ? { repeats: num(p.repeats, 'repeats', (n) => Number.isInteger(n) && n >= 1 && n <= 20, 'an integer from 1 to 20') } : {}),
        ...(p.baselines ? { baselines: true } : {}),
      };
    }
    case 'compress':
      return {
        kind: 'compress', runDir: str(p.runDir, 'runDir'),
        prune: num(p.prune, 'prune', (n) => n >= 0 && n < 1, 'a fraction in [0, 1)'),
        bits: num(p.bits, 'bits', (n) => Number.isInteger(n) && n >= 2 && n <= 8, 'an integer from 2 to 8'),
        ...(p.finetune !== undefined ? { finetune: num(p.finetune, 'finetune', (n) => Number.isInteger(n) && n >= 0, 'a number of steps') } : {}),
        ...(p.out !== undefined ? { out: str(p.out, 'out') } : {}),
      };
    case 'export':
      if (p.format !== 'tfjs') throw invalidParams(`format must be "tfjs" (a .rpgz is RPG: Compress Run; ONNX: export tfjs and convert it), got ${JSON.stringify(p.format)}`, 'format');
      return { kind: 'export', source: str(p.source, 'source'), format: 'tfjs', ...(p.out !== undefined ? { out: str(p.out, 'out') } : {}) };
    case 'eval':
      return { kind: 'eval', target: str(p.target, 'target') };
    default:
      throw invalidParams(`unknown job kind ${JSON.stringify((p as { kind?: unknown }).kind)} (sweep, compress, export or eval)`, 'kind');
  }
}
