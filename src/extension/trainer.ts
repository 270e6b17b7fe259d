// The trainer process as the extension sees it: started on first use (never at activation),
// initialized with the user's settings, restarted on demand or after it died. Its protocol
// notifications become one stream of RunEvents; when the process dies under running runs,
// those runs are marked failed on disk (their last checkpoint stays) and reported as such.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { NotificationType } from 'vscode-jsonrpc';
import {
  ConfigRef,
  initializeRequest,
  InitializeResult,
  layerWeightsRequest,
  LayerWeightsParams,
  LayerWeightsResult,
  planRequest,
  PlanResult,
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
import { TrainerClient, TrainerExit } from '../trainer/client';
import { RUN_FILE } from '../train/run-files';
import type { RunRecord } from '../train/types';
import type { Config } from './config';

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

export type TrainerState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'starting' }
  | { readonly kind: 'ready'; readonly info: InitializeResult }
  | { readonly kind: 'crashed'; readonly message: string };

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
  private expectedExit = new WeakSet<TrainerClient>();
  private readonly active = new Map<string, ActiveRun>();
  private readonly stateEmitter = new vscode.EventEmitter<TrainerState>();
  private readonly runEmitter = new vscode.EventEmitter<RunEvent>();

  readonly onDidChangeState = this.stateEmitter.event;
  readonly onRunEvent = this.runEmitter.event;

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

  plan(ref: ConfigRef, token?: vscode.CancellationToken): Promise<PlanResult> {
    return this.request((c) => c.request(planRequest, ref, token));
  }

  layerWeights(params: LayerWeightsParams, token?: vscode.CancellationToken): Promise<LayerWeightsResult> {
    return this.request((c) => c.request(layerWeightsRequest, params, token));
  }

  async startRun(params: TrainStartParams): Promise<TrainStartResult> {
    const client = await this.ensureStarted();
    const result = await client.request(trainStartRequest, params);
    // train/started may already have arrived (it is sent before the response on a fast start).
    const known = this.active.get(result.runId);
    this.active.set(result.runId, { ...known, runDir: known?.runDir ?? params.resumeFrom, configPath: known?.configPath ?? params.configPath });
    return result;
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
    this.log.info(`stopping the trainer (pid ${client.pid}): ${reason}`);
    this.expectedExit.add(client);
    await client.shutdown(graceMs);
  }

  /** Starts the trainer unless it runs; resolves once `initialize` has answered. */
  ensureStarted(): Promise<TrainerClient> {
    if (this.client && !this.client.exit) return Promise.resolve(this.client);
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  dispose(): void {
    const client = this.client;
    if (client && !client.exit) {
      this.expectedExit.add(client);
      // Closing stdin makes the trainer stop its runs gracefully and exit on its own.
      client.process.stdin?.end();
      setTimeout(() => client.dispose(), 5000).unref();
    }
    this.stateEmitter.dispose();
    this.runEmitter.dispose();
  }

  private async request<R>(send: (client: TrainerClient) => Promise<R>): Promise<R> {
    return send(await this.ensureStarted());
  }

  private setState(state: TrainerState): void {
    this.stateValue = state;
    this.stateEmitter.fire(state);
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
      onExit: (exit) => void this.onExit(client, exit),
    });
    this.client = client;
    this.log.info(`trainer starting: ${runtime.nodePath} ${[...runtime.nodeArgs, this.trainerPath].join(' ')} (pid ${client.pid ?? '?'})`);
    this.listen(client);
    try {
      const info = await client.request(initializeRequest, {
        clientName: `vscode ${vscode.version}`,
        protocolVersion: PROTOCOL_VERSION,
        backend: this.config.backend,
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
      this.expectedExit.add(client);
      client.dispose();
      if (this.client === client) this.client = undefined;
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
    on(trainCancelledNotification, (p) => {
      this.active.delete(p.runId);
      this.runEmitter.fire({ kind: 'cancelled', ...p });
    });
    // Bytes on the trainer's stdout that are not protocol messages desynchronise the stream:
    // log them and restart cleanly (runs get SIGTERM, so they stop at a checkpoint).
    client.connection.onError(([err]) => {
      if (this.client !== client || this.expectedExit.has(client)) return;
      this.log.error(`trainer output is not a protocol message (${err.message.split('\n')[0]}); restarting the trainer`);
      this.expectedExit.add(client);
      void this.endCorrupted(client);
    });
    client.connection.onClose(() => {
      if (this.client === client && !client.exit) this.log.warn('trainer connection closed');
    });
  }

  private async endCorrupted(client: TrainerClient): Promise<void> {
    client.process.kill('SIGTERM');
    const timer = setTimeout(() => client.dispose(), 20_000);
    const exit = await client.exited;
    clearTimeout(timer);
    await this.failActiveRuns(`The trainer was restarted because its output was corrupted (${describeExit(exit)}). The run stopped at its last checkpoint; resume it from the Experiments view.`);
    if (this.client === client) this.client = undefined;
    this.setState({ kind: 'idle' });
  }

  private async onExit(client: TrainerClient, exit: TrainerExit): Promise<void> {
    // Requests still waiting on the dead process fail now instead of never settling.
    client.dispose();
    if (this.client !== client) return;
    const expected = this.expectedExit.has(client);
    this.log[expected ? 'info' : 'error'](`trainer (pid ${client.pid}) exited: ${describeExit(exit)}`);
    if (expected && this.active.size === 0) {
      this.client = undefined;
      this.setState({ kind: 'idle' });
      return;
    }
    if (!expected) {
      this.client = undefined;
      const message = `The trainer process ended unexpectedly (${describeExit(exit)}).`;
      await this.failActiveRuns(`${message} The run's last checkpoint is intact: resume it from the Experiments view.`);
      this.setState({ kind: 'crashed', message: `${message} The next command starts a fresh one.` });
      return;
    }
    // Expected, with runs still active: a graceful shutdown whose finished notifications were
    // lost; runs whose record still says "running" did not finish cleanly.
    this.client = undefined;
    await this.failActiveRuns(`The trainer stopped (${describeExit(exit)}) before the run reported its end.`);
    this.setState({ kind: 'idle' });
  }

  /** Marks every active run failed: on disk (when its record still says running) and as an event. */
  private async failActiveRuns(message: string): Promise<void> {
    const runs = [...this.active.entries()];
    this.active.clear();
    for (const [runId, run] of runs) {
      if (run.runDir) await markRunFailed(run.runDir, message).catch((err: Error) => this.log.warn(`could not update ${run.runDir}: ${err.message}`));
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

/**
 * A run whose process died keeps status "running" in its run.json: rewrite it as failed, with
 * the reason, so every reader (tree, curves, CLI) tells the truth. A finished or stopped record
 * is left alone.
 */
export async function markRunFailed(runDir: string, message: string): Promise<boolean> {
  const file = path.join(runDir, RUN_FILE);
  let record: RunRecord;
  try {
    record = JSON.parse(await fs.readFile(file, 'utf8')) as RunRecord;
  } catch {
    return false;
  }
  if (record.status !== 'running') return false;
  const updated: RunRecord = { ...record, status: 'failed', endedAt: new Date().toISOString(), error: { code: 'internal', message } };
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(updated, null, 2) + '\n');
  await fs.rename(tmp, file);
  return true;
}

function describeExit(exit: TrainerExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
