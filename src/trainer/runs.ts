// The run queue: one run trains at a time (or up to maxConcurrentRuns), the rest wait in
// order. Each run's engine events become protocol notifications; whatever happens inside a
// run ends as exactly one of train/finished, train/failed or (still queued) train/cancelled,
// and never takes the process down.
import type { NotificationType } from 'vscode-jsonrpc';
import {
  trainCancelledNotification,
  trainCheckpointNotification,
  trainEvaluatedNotification,
  trainFailedNotification,
  trainFinishedNotification,
  trainProgressNotification,
  trainStartedNotification,
} from '../protocol';
import type { ResumeOptions, RunResult, TrainEvents, TrainOptions } from '../core/engine';
import type { TrainRow } from '../core/train/rows';
import { withoutUndefined } from '../protocol/errors';
import { describeFailure } from '../core/errors';
import * as log from './log';
import { ProgressThrottle } from './progress-throttle';

/** What the queue runs: a new run of a config, or a stopped/failed run continued. */
export type RunJob =
  | { readonly kind: 'train'; readonly options: Omit<TrainOptions, 'signal' | 'runId'> }
  | { readonly kind: 'resume'; readonly options: Omit<ResumeOptions, 'signal'> };

/** Trains one job to its end (the trainer passes core/runs' trainRun/resumeRun over the engines). */
export type TrainFunction = (job: RunJob, runId: string, signal: AbortSignal, events: TrainEvents) => Promise<RunResult>;
export type Notify = <P>(type: NotificationType<P>, params: P) => void;

/** A validated run, ready for the engine. */
export interface RunRequest {
  readonly runId: string;
  readonly job: RunJob;
}

interface Run extends RunRequest {
  readonly controller: AbortController;
  /** Settles when the run has ended and its final notification is sent. */
  done?: Promise<void>;
}

/** train/progress rows per second per run, at most. */
const PROGRESS_PER_SECOND = 10;

export class RunQueue {
  private readonly waiting: Run[] = [];
  private readonly training = new Map<string, Run>();

  constructor(
    private readonly train: TrainFunction,
    private readonly notify: Notify,
    private maxConcurrent = 1,
  ) {}

  setMaxConcurrent(n: number): void {
    this.maxConcurrent = Math.max(1, Math.floor(n));
    this.pump();
  }

  /** Run ids that are queued or training. */
  get runIds(): string[] {
    return [...this.training.keys(), ...this.waiting.map((r) => r.runId)];
  }

  /** The run folder an active run writes to, so a second request cannot resume it. */
  isBusy(runId: string, runDir?: string): boolean {
    return this.all().some((r) => r.runId === runId || (runDir !== undefined && r.job.kind === 'resume' && r.job.options.runDir === runDir));
  }

  /** Queues a run; returns how many runs it waits behind (0: it started). */
  submit(request: RunRequest): number {
    this.waiting.push({ ...request, controller: new AbortController() });
    this.pump();
    const index = this.waiting.findIndex((r) => r.runId === request.runId);
    return index + 1;
  }

  /** Stops one run (or all): queued ones are dropped, training ones finish their step and checkpoint. */
  stop(runId?: string): string[] {
    const stopped: string[] = [];
    for (const run of [...this.waiting]) {
      if (runId !== undefined && run.runId !== runId) continue;
      this.waiting.splice(this.waiting.indexOf(run), 1);
      this.notify(trainCancelledNotification, { runId: run.runId });
      stopped.push(run.runId);
    }
    for (const run of this.training.values()) {
      if (runId !== undefined && run.runId !== runId) continue;
      if (!run.controller.signal.aborted) {
        log.info(`run ${run.runId}: stopping after the current step`);
        run.controller.abort();
      }
      stopped.push(run.runId);
    }
    return stopped;
  }

  /** Stops everything and waits (at most `timeoutMs`) for training runs to write their checkpoints. */
  async stopAll(timeoutMs: number): Promise<boolean> {
    this.stop();
    const pending = [...this.training.values()].map((r) => r.done);
    if (!pending.length) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const ended = await Promise.race([Promise.all(pending).then(() => true as const), timeout]);
    clearTimeout(timer);
    return ended;
  }

  private all(): Run[] {
    return [...this.training.values(), ...this.waiting];
  }

  private pump(): void {
    while (this.training.size < this.maxConcurrent && this.waiting.length) {
      const run = this.waiting.shift()!;
      this.training.set(run.runId, run);
      // On the next turn of the event loop: the train/start answer (sent once the handler's
      // promise settles) goes out before any notification of the run, even train/failed.
      run.done = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.execute(run))
        .finally(() => {
          this.training.delete(run.runId);
          this.pump();
        });
    }
  }

  private async execute(run: Run): Promise<void> {
    const { runId } = run;
    if (run.controller.signal.aborted) {
      // Stopped between its start and its first step: nothing was written for it.
      this.notify(trainCancelledNotification, { runId });
      return;
    }
    let totals = { totalSteps: 0, totalEpochs: 0 };
    let runDir = run.job.kind === 'resume' ? run.job.options.runDir : undefined;
    const progress = new ProgressThrottle<TrainRow>(1000 / PROGRESS_PER_SECOND, (row) => this.notify(trainProgressNotification, { ...row, runId, ...totals }));
    const events: TrainEvents = {
      onStart: (info) => {
        runDir = info.runDir;
        totals = { totalSteps: info.totalSteps, totalEpochs: Math.ceil(info.totalSteps / Math.max(1, info.stepsPerEpoch)) };
        log.info(`run ${runId}: training on ${info.engine} engine, backend ${info.backend}${info.device ? ` (${info.device})` : ''}, in ${info.runDir}${info.resumed ? ` from step ${info.startStep}` : ''}`);
        this.notify(trainStartedNotification, withoutUndefined({ ...info, runId }));
      },
      onTrainRow: (row) => progress.push(row),
      onEval: (row) => this.notify(trainEvaluatedNotification, { ...row, runId }),
      onCheckpoint: (info) => this.notify(trainCheckpointNotification, { ...info, runId }),
      // The engine names the run in most of its lines already.
      onLog: (message) => log.info(message.startsWith(`run ${runId}`) ? message : `run ${runId}: ${message}`),
    };
    try {
      const result = await this.train(run.job, runId, run.controller.signal, events);
      await progress.flush();
      this.notify(trainFinishedNotification, { ...result, runId });
    } catch (err) {
      await progress.flush();
      const failure = describeFailure(err);
      log.error(`run ${runId} failed (${failure.code}): ${failure.stack ?? failure.message}`);
      this.notify(trainFailedNotification, withoutUndefined({ runId, code: failure.code, message: failure.message, field: failure.field, file: failure.file, runDir }));
    } finally {
      progress.dispose();
    }
  }
}
