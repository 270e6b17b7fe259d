// The extension host's side of the layer weights worker (dist/layer-weights-worker.js): one
// worker thread, started on the first request, stopped after a quiet minute (it holds a plan's
// draws, ~100 MB for ResNet-34) and on dispose, started again after a crash. Requests run one at
// a time, the newest waiting one first: the layer a user clicked last is computed next, and the
// ones passed over on the way still come (the webview asks for each layer once and waits). No
// vscode import: unit tests drive it against the built worker.
import { Worker } from 'node:worker_threads';
import { ResponseError } from 'vscode-jsonrpc';
import type { LayerWeightsParams, LayerWeightsResult } from '../../core/experiment/types';
import type { WorkerReply, WorkerRequest } from './messages';

/** A result, or none because its panel closed (cancelLane) or the client was disposed. */
export type LayerWeightsOutcome =
  | { readonly kind: 'result'; readonly result: LayerWeightsResult }
  | { readonly kind: 'dropped'; readonly reason: 'disposed' };

export interface LayerWeightsWorkerOptions {
  /** Path of dist/layer-weights-worker.js. */
  readonly script: string;
  /** An idle worker is stopped after this long (default 60 s). */
  readonly idleMs?: number;
  readonly log?: (message: string) => void;
  /** Creates the thread (tests keep a handle on it to kill it). */
  readonly spawn?: (script: string) => Worker;
}

interface Job {
  readonly id: number;
  readonly lane: string;
  readonly params: LayerWeightsParams;
  readonly settle: (outcome: LayerWeightsOutcome) => void;
  readonly fail: (err: Error) => void;
}

export const DEFAULT_IDLE_MS = 60_000;

export class LayerWeightsWorker {
  private worker: Worker | undefined;
  /** The job the worker is computing. */
  private running: Job | undefined;
  /** Waiting jobs, oldest first; the newest runs next. */
  private readonly queue: Job[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  /** The worker's uncaught error, reported with its exit. */
  private lastError: string | undefined;
  private nextId = 1;
  private disposed = false;
  private readonly idleMs: number;

  constructor(private readonly options: LayerWeightsWorkerOptions) {
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  }

  /** Whether a worker thread is up (tests check the idle stop). */
  get started(): boolean {
    return this.worker !== undefined;
  }

  /**
   * The layer's weights, computed in the worker. Rejects with a ResponseError (REQUEST_FAILED,
   * the field at fault in `data`, as src/protocol/errors.ts makes them), or with a plain
   * Error saying the worker stopped. A request that already started always completes.
   */
  request(params: LayerWeightsParams, lane = ''): Promise<LayerWeightsOutcome> {
    if (this.disposed) return Promise.resolve({ kind: 'dropped', reason: 'disposed' });
    return new Promise<LayerWeightsOutcome>((settle, fail) => {
      this.queue.push({ id: this.nextId++, lane, params, settle, fail });
      this.pump();
    });
  }

  /** Drops a lane's waiting requests (its panel closed); one already running completes. */
  cancelLane(lane: string): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.lane === lane) this.queue.splice(i, 1)[0]!.settle({ kind: 'dropped', reason: 'disposed' });
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const pending = [...(this.running ? [this.running] : []), ...this.queue.splice(0)];
    this.running = undefined;
    this.stop();
    for (const job of pending) job.settle({ kind: 'dropped', reason: 'disposed' });
  }

  private pump(): void {
    if (this.running || this.disposed) return;
    const job = this.queue.pop();
    if (!job) {
      this.armIdle();
      return;
    }
    clearTimeout(this.idleTimer);
    let worker: Worker;
    try {
      worker = this.worker ?? this.start();
    } catch (err) {
      // No thread at all (a missing bundle): this request fails, the next one tries again.
      job.fail(new Error(`The layer weights worker did not start: ${err instanceof Error ? err.message : String(err)}`));
      this.pump();
      return;
    }
    this.running = job;
    worker.ref(); // busy: keeps a Node process (a test, the CLI) alive until it answers
    worker.postMessage({ id: job.id, params: job.params } satisfies WorkerRequest);
  }

  private start(): Worker {
    // No inherited flags: the bundle needs none, and the host's (--inspect...) may not suit a thread.
    const worker = this.options.spawn?.(this.options.script) ?? new Worker(this.options.script, { execArgv: [] });
    this.worker = worker;
    this.lastError = undefined;
    worker.on('message', (reply: WorkerReply) => this.onReply(worker, reply));
    worker.on('error', (err: unknown) => {
      if (worker === this.worker) this.lastError = err instanceof Error ? err.message : String(err);
    });
    worker.on('exit', (code: number) => this.onExit(worker, code));
    this.options.log?.(`layer weights worker started (thread ${worker.threadId})`);
    return worker;
  }

  private onReply(worker: Worker, reply: WorkerReply): void {
    const job = this.running;
    if (worker !== this.worker || !job || reply.id !== job.id) return;
    this.running = undefined;
    if (reply.ok) job.settle({ kind: 'result', result: reply.result });
    else job.fail(new ResponseError(reply.code, reply.message, reply.data));
    this.pump();
  }

  /** An exit we did not ask for: the running job fails with the reason, the queue goes on in a new worker. */
  private onExit(worker: Worker, code: number): void {
    if (worker !== this.worker) return; // one we stopped ourselves
    this.worker = undefined;
    const why = `exit code ${code}${this.lastError ? `: ${this.lastError}` : ''}`;
    this.options.log?.(`layer weights worker stopped unexpectedly (${why})`);
    const job = this.running;
    this.running = undefined;
    job?.fail(new Error(`The layer weights worker stopped (${why}) while computing ${job.params.layer}; asking again starts a new one.`));
    this.pump();
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (!this.worker) return;
    this.worker.unref(); // idle: never what keeps a process alive
    this.idleTimer = setTimeout(() => {
      this.options.log?.(`layer weights worker idle for ${this.idleMs} ms: stopped`);
      this.stop();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private stop(): void {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = undefined; // first, so its exit is not taken for a crash
    void worker?.terminate();
  }
}
