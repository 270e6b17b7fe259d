// The trainer process as the extension sees it: started on first use (never at activation),
// initialized with the user's settings, restarted on demand or after it died. Its protocol
// notifications become one stream of RunEvents; when the process dies under running runs,
// those runs are marked failed on disk (their last checkpoint stays) and reported as such.
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { NotificationType } from 'vscode-jsonrpc';
import {
  jobCancelRequest,
  jobFailedNotification,
  jobFinishedNotification,
  jobProgressNotification,
  JobResult,
  JobSpec,
  jobStartRequest,
  initializeRequest,
  InitializeResult,
  PROTOCOL_VERSION,
  trainCancelledNotification,
  trainCheckpointNotification,
  trainEvaluatedNotification,
  TrainFailure,
  trainFailedNotification,
  trainFinishedNotification,
  trainProgressNotification,
  trainStartedNotification,
  trainStartRequest,
  TrainStartParams,
  TrainStartResult,
  trainStopRequest,
} from '../protocol';
import { TrainerClient, TrainerExit } from '../protocol/client';
import { markRunInterrupted } from '../core/runs/folder';
import type { Config } from './config';
import { torchPython } from './python-interpreter';

/** Everything the trainer says about runs, as one discriminated union. */
export type RunEvent =
  | ({ kind: 'started' } & NotificationParams<typeof trainStartedNotification>)
  | ({ kind: 'progress' } & NotificationParams<typeof trainProgressNotification>)
  | ({ kind: 'evaluated' } & NotificationParams<typeof trainEvaluatedNotification>)
  | ({ kind: 'checkpoint' } & NotificationParams<typeof trainCheckpointNotification>)
  | ({ kind: 'finished' } & NotificationParams<typeof trainFinishedNotification>)
  | ({ kind: 'failed' } & TrainFailure)
  | ({ kind: 'cancelled' } & NotificationParams<typeof trainCancelledNotification>);

type NotificationParams<N> = N extends NotificationType<infer P> ? P : never;

/** What the trainer says about a job (sweep, compress, export, eval). */
export type JobEvent =
  | ({ kind: 'progress' } & NotificationParams<typeof jobProgressNotification>)
  | { kind: 'finished'; jobId: string; result: JobResult }
  | { kind: 'failed'; jobId: string; jobKind: JobSpec['kind']; code: string; message: string; field?: string; file?: string };

export type TrainerState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'starting' }
  | { readonly kind: 'ready'; readonly info: InitializeResult }
  /** Shutting down (restart, settings change): the next use waits for it to exit. */
  | { readonly kind: 'stopping' }
  | { readonly kind: 'crashed'; readonly message: string };

/** Why a process ended, as far as the extension caused it. */
type ExitCause = { readonly kind: 'shutdown' } | { readonly kind: 'corrupted' } | { readonly kind: 'startFailed' };

/** What the extension knows about a run the trainer holds, to clean up if the process dies. */
interface ActiveRun {
  runDir?: string;
  configPath?: string;
}

export class TrainerService implements vscode.Disposable {
  private client: TrainerClient | undefined;
  private starting: Promise<TrainerClient> | undefined;
  private stateValue: TrainerState = { kind: 'idle' };
  /** Set while we end the process ourselves, so its exit is not a crash. */
  private readonly exitCause = new WeakMap<TrainerClient, ExitCause>();
  /** Settles when a client's exit has been handled (runs failed, state set): onExit. */
  private readonly exitHandled = new WeakMap<TrainerClient, Promise<void>>();
  private readonly active = new Map<string, ActiveRun>();
  private readonly stateEmitter = new vscode.EventEmitter<TrainerState>();
  private readonly runEmitter = new vscode.EventEmitter<RunEvent>();
  private readonly jobEmitter = new vscode.EventEmitter<JobEvent>();
  /** Jobs the current process runs, to fail them if it dies. */
  private readonly jobs = new Map<string, JobSpec['kind']>();

  readonly onDidChangeState = this.stateEmitter.event;
  readonly onRunEvent = this.runEmitter.event;
  readonly onJobEvent = this.jobEmitter.event;

  constructor(
    private readonly trainerPath: string,
    private readonly config: Config,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get state(): TrainerState {
    return this.stateValue;
  }

  /** The trainer's process id while it runs. */
  get pid(): number | undefined {
    return this.client?.exit ? undefined : this.client?.pid;
  }

  /** Run ids queued or training in the current process. */
  get activeRunIds(): string[] {
    return [...this.active.keys()];
  }

  /** The live client, for tests that poke at the process (garbage output, kill -9). */
  get currentClient(): TrainerClient | undefined {
    return this.client;
  }

  async startRun(params: TrainStartParams): Promise<TrainStartResult> {
    const client = await this.ensureStarted();
    // A run can end before its train/start answer arrives (an older trainer, a very fast
    // failure): remember what ended meanwhile so it is not added back as active.
    const ended = new Set<string>();
    const sub = this.runEmitter.event((e) => {
      if (e.kind === 'finished' || e.kind === 'failed' || e.kind === 'cancelled') ended.add(e.runId);
    });
    let result: TrainStartResult;
    try {
      result = await client.request(trainStartRequest, params);
    } finally {
      sub.dispose();
    }
    if (ended.has(result.runId) || this.client !== client) return result;
    // train/started may already have arrived.
    const known = this.active.get(result.runId);
    this.active.set(result.runId, { ...known, runDir: known?.runDir ?? params.resumeFrom, configPath: known?.configPath ?? params.configPath });
    return result;
  }

  /** Starts a sweep, compression, export or evaluation in the trainer; resolves with its id. */
  async startJob(spec: JobSpec): Promise<string> {
    const client = await this.ensureStarted();
    const { jobId } = await client.request(jobStartRequest, spec);
    this.jobs.set(jobId, spec.kind);
    return jobId;
  }

  async cancelJob(jobId: string): Promise<boolean> {
    const client = this.client;
    if (!client || client.exit) return false;
    return (await client.request(jobCancelRequest, { jobId })).cancelled;
  }

  /** Stops one run (or all); resolves with the run ids the trainer will stop. */
  async stopRuns(runId?: string): Promise<readonly string[]> {
    const client = this.client;
    if (!client || client.exit) return [];
    const { stopped } = await client.request(trainStopRequest, runId === undefined ? {} : { runId });
    return stopped;
  }

  /** Ends the trainer gracefully (runs write their checkpoints); the next use starts a fresh one. */
  async restart(reason: string): Promise<void> {
    await this.shutdown(reason);
    await this.ensureStarted();
  }

  async shutdown(reason: string, graceMs = 15_000): Promise<void> {
    const client = this.client ?? (await this.starting?.catch(() => undefined));
    if (!client) return;
    if (!client.exit && !this.exitCause.has(client)) {
      this.log.info(`stopping the trainer (pid ${client.pid}): ${reason}`);
      this.exitCause.set(client, { kind: 'shutdown' });
      if (this.client === client) this.setState({ kind: 'stopping' });
    }
    await client.shutdown(graceMs);
    await this.exitHandled.get(client);
  }

  /**
   * Starts the trainer unless it runs; resolves once `initialize` has answered. While an old
   * process is on its way out (restart, corrupted output), waits until it has exited and its
   * runs are cleaned up, so nothing is sent to a process that will not run it.
   */
  ensureStarted(): Promise<TrainerClient> {
    const current = this.client;
    if (current && !current.exit && !this.exitCause.has(current)) return Promise.resolve(current);
    this.starting ??= this.startAfter(current).finally(() => (this.starting = undefined));
    return this.starting;
  }

  dispose(): void {
    const client = this.client;
    if (client && !client.exit) {
      if (!this.exitCause.has(client)) this.exitCause.set(client, { kind: 'shutdown' });
      // Closing stdin makes the trainer stop its runs gracefully and exit on its own.
      client.process.stdin?.end();
      setTimeout(() => client.dispose(), 5000).unref();
    }
    this.stateEmitter.dispose();
    this.runEmitter.dispose();
    this.jobEmitter.dispose();
  }

  private setState(state: TrainerState): void {
    this.stateValue = state;
    this.stateEmitter.fire(state);
  }

  private async startAfter(old: TrainerClient | undefined): Promise<TrainerClient> {
    if (old) {
      await old.exited;
      await this.exitHandled.get(old);
    }
    // Someone else may have started one meanwhile.
    const current = this.client;
    if (current && current !== old && !current.exit && !this.exitCause.has(current)) return current;
    return this.start();
  }

  private async start(): Promise<TrainerClient> {
    this.setState({ kind: 'starting' });
    const t0 = performance.now();
    const runtime = this.config.trainerRuntime;
    const client = TrainerClient.start({
      trainerPath: this.trainerPath,
      nodePath: runtime.nodePath,
      nodeArgs: runtime.nodeArgs,
      env: runtime.env,
      cwd: path.dirname(this.trainerPath),
      onStderrLine: (line) => this.logTrainerLine(line),
      onExit: (exit) => this.exitHandled.set(client, this.onExit(client, exit)),
    });
    this.client = client;
    this.log.info(`trainer starting: ${runtime.nodePath} ${[...runtime.nodeArgs, this.trainerPath].join(' ')} (pid ${client.pid ?? '?'})`);
    this.listen(client);
    try {
      const python = await torchPython(this.config);
      const info = await client.request(initializeRequest, {
        clientName: `vscode ${vscode.version}`,
        protocolVersion: PROTOCOL_VERSION,
        backend: this.config.backend,
        ...(python ? { python } : {}),
        ...(this.config.threads > 0 ? { threads: this.config.threads } : {}),
        maxConcurrentRuns: this.config.maxConcurrentRuns,
      });
      const ms = Math.round(performance.now() - t0);
      this.log.info(`trainer ready in ${ms} ms: pid ${info.pid}, backend ${info.backend} (${info.reason}), ${info.threads} thread(s), node ${info.versions.node}, tfjs ${info.versions.tfjs}`);
      if (client.exit) throw new Error(`the trainer exited during startup (${describeExit(client.exit)})`);
      this.setState({ kind: 'ready', info });
      return client;
    } catch (err) {
      const message = client.exit ? `the trainer exited during startup (${describeExit(client.exit)})` : (err as Error).message;
      // onExit clears the client once the process is gone; the crashed state stays.
      this.exitCause.set(client, { kind: 'startFailed' });
      client.dispose();
      this.setState({ kind: 'crashed', message: `Could not start the trainer: ${message}` });
      throw new Error(`Could not start the trainer: ${message}`);
    }
  }

  private listen(client: TrainerClient): void {
    const on = <P>(type: NotificationType<P>, handle: (p: P) => void) =>
      client.onNotification(type, (p) => {
        if (this.client === client) handle(p);
      });
    on(trainStartedNotification, (p) => {
      this.active.set(p.runId, { ...this.active.get(p.runId), runDir: p.runDir, configPath: p.configPath });
      this.runEmitter.fire({ kind: 'started', ...p });
    });
    on(trainProgressNotification, (p) => this.runEmitter.fire({ kind: 'progress', ...p }));
    on(trainEvaluatedNotification, (p) => this.runEmitter.fire({ kind: 'evaluated', ...p }));
    on(trainCheckpointNotification, (p) => this.runEmitter.fire({ kind: 'checkpoint', ...p }));
    on(trainFinishedNotification, (p) => {
      this.active.delete(p.runId);
      this.runEmitter.fire({ kind: 'finished', ...p });
    });
    on(trainFailedNotification, (p) => {
      this.active.delete(p.runId);
      this.runEmitter.fire({ kind: 'failed', ...p });
    });
    on(jobProgressNotification, (p) => this.jobEmitter.fire({ kind: 'progress', ...p }));
    on(jobFinishedNotification, (p) => {
      this.jobs.delete(p.jobId);
      this.jobEmitter.fire({ kind: 'finished', ...p });
    });
    on(jobFailedNotification, ({ kind: jobKind, ...p }) => {
      this.jobs.delete(p.jobId);
      this.jobEmitter.fire({ ...p, kind: 'failed', jobKind });
    });
    on(trainCancelledNotification, (p) => {
      this.active.delete(p.runId);
      this.runEmitter.fire({ kind: 'cancelled', ...p });
    });
    // Bytes on the trainer's stdout that are not protocol messages desynchronise the stream:
    // log them and restart cleanly (runs get SIGTERM, so they stop at a checkpoint).
    client.connection.onError(([err]) => {
      if (this.client !== client || this.exitCause.has(client)) return;
      this.log.error(`trainer output is not a protocol message (${err.message.split('\n')[0]}); restarting the trainer`);
      this.endCorrupted(client);
    });
    client.connection.onClose(() => {
      if (this.client === client && !client.exit) this.log.warn('trainer connection closed');
    });
  }

  /** Ends a process whose output is corrupted; onExit cleans up (the one cleanup path). */
  private endCorrupted(client: TrainerClient): void {
    this.exitCause.set(client, { kind: 'corrupted' });
    if (this.client === client) this.setState({ kind: 'stopping' });
    client.process.kill('SIGTERM');
    const timer = setTimeout(() => client.dispose(), 20_000);
    void client.exited.then(() => clearTimeout(timer));
  }

  /** The single cleanup path of every process end: fails its runs, then sets the state. */
  private async onExit(client: TrainerClient, exit: TrainerExit): Promise<void> {
    // Requests still waiting on the dead process fail now instead of never settling.
    client.dispose();
    const cause = this.exitCause.get(client);
    const expected = cause !== undefined;
    this.log[expected ? 'info' : 'error'](`trainer (pid ${client.pid}) exited: ${describeExit(exit)}`);
    // A new process starts only after this one is handled, so active runs are this one's.
    let state: TrainerState = { kind: 'idle' };
    if (!cause) {
      const message = `The trainer process ended unexpectedly (${describeExit(exit)})`;
      await this.failActiveRuns(message);
      state = { kind: 'crashed', message: `${message}. The next command starts a fresh one.` };
    } else if (cause.kind === 'corrupted') {
      await this.failActiveRuns(`The trainer was restarted because its output was corrupted (${describeExit(exit)})`);
    } else {
      // Expected, with runs still active: a graceful shutdown whose finished notifications were
      // lost; runs whose record still says "running" did not finish cleanly.
      await this.failActiveRuns(`The trainer stopped (${describeExit(exit)}) before the run reported its end`);
    }
    // Only the newest process decides the state: a newer client (or none) is never overwritten.
    if (this.client !== client && this.client !== undefined) return;
    this.client = undefined;
    // A failed start already says why (crashed); keep that message.
    if (cause?.kind !== 'startFailed') this.setState(state);
  }

  /**
   * Marks every active run failed: on disk (when its record still says running) and as an
   * event whose message says what the run folder holds — how far it got, and whether a
   * checkpoint is there to resume from (markRunInterrupted reads both from the files).
   */
  private async failActiveRuns(reason: string): Promise<void> {
    // Jobs die with the process: nothing of theirs is half-kept (a sweep's finished points are).
    for (const [jobId, jobKind] of [...this.jobs]) this.jobEmitter.fire({ kind: 'failed', jobId, jobKind, code: 'internal', message: `${reason.replace(/[.\s]+$/, '')}: the ${jobKind} stopped.` });
    this.jobs.clear();
    if (this.active.size === 0) return;
    const runs = [...this.active.entries()];
    this.active.clear();
    for (const [runId, run] of runs) {
      let message = `${reason} before the run started; nothing was written for it: train it again.`;
      if (run.runDir) {
        try {
          message = markRunInterrupted(run.runDir, reason).message;
        } catch (err) {
          message = `${reason}. Could not update ${run.runDir}: ${(err as Error).message}`;
          this.log.warn(message);
        }
      }
      this.runEmitter.fire({ kind: 'failed', runId, code: 'internal', message, ...(run.runDir ? { runDir: run.runDir } : {}) });
    }
  }

  private logTrainerLine(line: string): void {
    // "2026-11-28T23:10:05.123Z [warn] message": the channel adds its own timestamp.
    const m = /^\S+Z \[([\w.]+)\] (.*)$/.exec(line);
    const [level, text] = m ? [m[1]!, m[2]!] : ['info', line];
    const message = `[trainer] ${text}`;
    if (level === 'error' || level === 'console.error') this.log.error(message);
    else if (level === 'warn' || level === 'console.warn') this.log.warn(message);
    else this.log.info(message);
  }
}

function describeExit(exit: TrainerExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
