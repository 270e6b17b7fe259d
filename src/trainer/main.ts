// The background trainer: a plain Node process that speaks JSON-RPC 2.0 (src/protocol) over
// its stdio. stdout carries protocol messages only; logs go to stderr with timestamps.
// It lives as long as its client: end of stdin, `shutdown`, SIGTERM or SIGINT, or its parent
// process going away (a watchdog, for when stdin never closes) stop every run gracefully (the
// current step finishes and a checkpoint is written), then the process exits.
import { createMessageConnection } from 'vscode-jsonrpc/node';
import { ErrorCodes, ResponseError, type NotificationType } from 'vscode-jsonrpc';
import { version as trainerVersion } from '../../package.json';
import { shutdownRequest } from '../protocol';
import { resumeRun, trainRun } from '../core/runs/train-run';
import { engineFor } from '../engines';
import { processAlive } from '../core/runs/record';
import { registerHandlers, TrainerLifecycle } from './handlers';
import * as log from './log';
import { JobRunner } from './jobs';
import { RunQueue, TrainFunction } from './runs';
import { INVALID_REQUEST_METHOD, ResilientMessageReader } from './stdin-reader';
import { StdoutMessageWriter } from './stdout-writer';

/** How long runs get to finish their step and write a checkpoint before the process exits anyway. */
const STOP_GRACE_MS = 60_000;

const protocolOut = log.reserveStdoutForProtocol();
log.info(`trainer ${trainerVersion} (pid ${process.pid}, node ${process.version}) starting`);

const reader = new ResilientMessageReader(process.stdin, {
  maxMessageBytes: Number(process.env.RPG_TRAINER_MAX_MESSAGE_BYTES) || undefined,
  onSkip: (reason, bytes) => log.warn(`stdin: ignored ${bytes} byte(s) of ${reason}`),
});
const connection = createMessageConnection(reader, new StdoutMessageWriter(protocolOut), {
  error: (m) => log.error(`jsonrpc: ${m}`),
  warn: (m) => log.warn(`jsonrpc: ${m}`),
  info: (m) => log.info(`jsonrpc: ${m}`),
  log: (m) => log.info(`jsonrpc: ${m}`),
});

let closed = false;
/** Notifications after the client is gone are dropped, never thrown. */
function notify<P>(type: NotificationType<P>, params: P): void {
  if (closed) return;
  connection.sendNotification(type, params as never).catch((err: unknown) => {
    process.stderr.write(`${new Date().toISOString()} [warn] could not send ${type.method}: ${String(err)}\n`);
  });
}

/** A queued job on the engine its config names, through the run folder's one writer. */
const trainJob: TrainFunction = (job, runId, signal, events) =>
  job.kind === 'train' ? trainRun(engineFor, { ...job.options, runId, signal }, events) : resumeRun(engineFor, { ...job.options, signal }, events);

const queue = new RunQueue(trainJob, notify);
const jobs = new JobRunner(notify);
/** Set once the process is on its way out: train/start is refused from then on. */
const lifecycle: TrainerLifecycle = { exiting: false };
registerHandlers(connection, queue, trainerVersion, lifecycle, jobs);
let exited = false;

/** Stops every run (each writes its checkpoint), then exits. */
async function shutdown(reason: string): Promise<void> {
  if (exited) return;
  exited = true;
  lifecycle.exiting = true;
  clearInterval(watchdog);
  log.info(`shutting down: ${reason}`);
  jobs.cancelAll();
  const clean = await queue.stopAll(STOP_GRACE_MS);
  if (!clean) log.warn(`runs did not stop within ${STOP_GRACE_MS / 1000} s; exiting without their final checkpoint`);
  log.info('bye');
  // Protocol writes are synchronous: everything sent is in the pipe already.
  process.exit(0);
}

// Malformed requests (see stdin-reader.ts) are answered, never dropped.
connection.onRequest(INVALID_REQUEST_METHOD, (params: { reason?: string } | undefined) => new ResponseError(ErrorCodes.InvalidRequest, `invalid request: ${params?.reason ?? 'malformed'}`));
connection.onRequest(shutdownRequest, async () => {
  // No run may start between this answer and the exit.
  lifecycle.exiting = true;
  // Answer after the runs have stopped, so the client knows their checkpoints are written.
  await queue.stopAll(STOP_GRACE_MS);
  setTimeout(() => void shutdown('shutdown requested'), 20);
});
connection.onClose(() => {
  closed = true;
  void shutdown('stdin closed (the client is gone)');
});
connection.onError(([err]) => log.error(`connection: ${err.message}`));

/**
 * The parent watchdog: a client that dies without closing our stdin (a wrapper script as
 * rpg.trainer.nodePath keeps the pipe open, or the parent was SIGKILLed with the pipe
 * inherited elsewhere) must not leave a trainer burning CPU. RPG_PARENT_PID names the client's
 * process; without it, the parent we were started by. When it is gone: graceful shutdown.
 */
const WATCHDOG_MS = Number(process.env.RPG_TRAINER_WATCHDOG_MS) || 2000;
const parentPid = Number(process.env.RPG_PARENT_PID) || process.ppid;
const watchdog = setInterval(() => {
  // Reparented (ppid changed, usually to 1 or a subreaper) also means the parent is gone.
  // pid ≤ 1: no parent to watch (orphaned, or init itself).
  const parentGone = !(parentPid > 1 && processAlive(parentPid)) || (!process.env.RPG_PARENT_PID && process.ppid !== parentPid);
  if (parentGone) {
    log.warn(`the parent process ${parentPid} is gone; stopping`);
    closed = true;
    void shutdown('parent process gone');
  }
}, WATCHDOG_MS);
watchdog.unref();

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    // A second signal means "now": the checkpoint of the last finished step is already on disk.
    if (exited) {
      log.warn(`${signal} again: exiting immediately`);
      process.exit(130);
    }
    void shutdown(signal);
  });
}
// A bug must cost one run (the queue reports it as train/failed), never the process.
process.on('uncaughtException', (err) => log.error(`uncaught exception (trainer keeps running): ${err.stack ?? err.message}`));
process.on('unhandledRejection', (reason) => log.error(`unhandled rejection (trainer keeps running): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));

connection.listen();
