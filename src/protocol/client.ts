// Starts the trainer (dist/trainer.js) as a child Node process and talks to it over its
// stdio with the typed messages of src/protocol. No vscode import: the extension uses this
// from src/extension/, the integration tests use it directly.
import { ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import type { CancellationToken, Disposable, MessageConnection, NotificationType, RequestType } from 'vscode-jsonrpc';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { shutdownRequest } from './index';

export interface TrainerExit {
  /** Exit code, or null when a signal ended the process. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface TrainerClientOptions {
  /** Path of the bundled trainer (dist/trainer.js). */
  readonly trainerPath: string;
  /** Node executable; default: the one running this code (inside VS Code pass a real `node`, or
   * process.execPath together with ELECTRON_RUN_AS_NODE=1 in `env`). */
  readonly nodePath?: string;
  /** Extra arguments for node, before the script (e.g. --max-old-space-size=8192). */
  readonly nodeArgs?: readonly string[];
  /** Environment of the trainer; default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Each line the trainer writes to stderr (its log). */
  readonly onStderrLine?: (line: string) => void;
  /** The trainer ended, expectedly or not. */
  readonly onExit?: (exit: TrainerExit) => void;
}

export class TrainerClient implements Disposable {
  readonly process: ChildProcess;
  readonly connection: MessageConnection;
  /** Settles when the trainer process has ended and its output is drained ('close'). */
  readonly exited: Promise<TrainerExit>;
  private exitInfo: TrainerExit | undefined;

  private constructor(options: TrainerClientOptions) {
    this.process = spawn(options.nodePath ?? process.execPath, [...(options.nodeArgs ?? []), options.trainerPath], {
      cwd: options.cwd,
      // The trainer's watchdog exits when this process is gone, even if its stdin stays open.
      env: { ...(options.env ?? process.env), RPG_PARENT_PID: String(process.pid) },
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const child = this.process;
    this.exited = new Promise<TrainerExit>((resolve) => {
      let settled = false;
      const settle = (exit: TrainerExit) => {
        if (settled) return;
        settled = true;
        this.exitInfo ??= exit;
        resolve(this.exitInfo);
        options.onExit?.(this.exitInfo);
        // Everything the trainer wrote has been read by now (its final train/finished too).
        this.connection.dispose();
      };
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // 'close' follows once stdout and stderr are drained; a grandchild that inherited the
        // pipes could hold them open, so do not wait for it forever.
        setTimeout(() => settle({ code, signal }), 2000).unref();
      });
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => settle(this.exitInfo ?? { code, signal }));
      child.once('error', (err) => {
        // Spawning failed (no such node): report it as an exit and on stderr.
        options.onStderrLine?.(`cannot start the trainer: ${err.message}`);
        if (!this.exitInfo) settle({ code: -1, signal: null });
      });
    });
    // Writing to a trainer that just died must not throw in the caller's process.
    child.stdin!.on('error', () => undefined);
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => options.onStderrLine?.(line));
    this.connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    this.connection.listen();
  }

  /** Spawns the trainer and starts listening. Send `initialize` first. */
  static start(options: TrainerClientOptions): TrainerClient {
    return new TrainerClient(options);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** The exit, once the process has ended. */
  get exit(): TrainerExit | undefined {
    return this.exitInfo;
  }

  request<P, R, E>(type: RequestType<P, R, E>, params: P, token?: CancellationToken): Promise<R> {
    return this.connection.sendRequest(type, params as never, token) as Promise<R>;
  }

  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): Disposable {
    return this.connection.onNotification(type, handler);
  }

  /**
   * Ends the trainer politely: `shutdown` (runs stop and write their checkpoints), then
   * SIGTERM, then SIGKILL, each after `graceMs` without an exit.
   */
  async shutdown(graceMs = 15_000): Promise<TrainerExit> {
    if (this.exitInfo) return this.exitInfo;
    const step = (ms: number) => Promise.race([this.exited, delay(ms, undefined, { ref: false })]);
    this.request(shutdownRequest, undefined).catch(() => undefined);
    if ((await step(graceMs)) === undefined) {
      this.process.kill('SIGTERM');
      if ((await step(graceMs)) === undefined) this.process.kill('SIGKILL');
    }
    return this.exited;
  }

  /** Immediately kills the process (no checkpoint) and closes the connection. */
  dispose(): void {
    this.connection.dispose();
    if (!this.exitInfo) this.process.kill('SIGKILL');
  }
}
