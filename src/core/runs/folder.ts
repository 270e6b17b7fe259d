// The one writer of run folders. A RunFolder is held by the process that trains the run (it
// holds the folder's lock) and moves the run record through its states:
//   created → running → (checkpointed)* → finished | stopped | failed
// Every transition rewrites run.json atomically; metrics rows are appended to metrics.jsonl.
// Crash recovery from outside (the extension, after its trainer died) goes through
// markRunInterrupted, the only other writer of a record.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type { RpgConfig } from '../config/schema';
import type { EngineRunInfo } from '../engine';
import type { Failure } from '../errors';
import type { MetricRow } from '../train/rows';
import { removeStaleTempFiles, storageError, writeFileAtomic } from './atomic';
import { newRunId, runDirFor, runFiles } from './layout';
import { interruptionMessage, LeftOnDisk, leftOnDisk } from './interrupted';
import { acquireRunLock, RunLock } from './lock';
import { readRunRecord, runOwnerAlive } from './record';
import type { RunRecord, RunStatus } from './types';

/** Where a run stands, for its record: updated at every checkpoint and at the end. */
export interface RunProgress {
  readonly step: number;
  readonly epoch: number;
  readonly durationSec: number;
  readonly bestAcc?: number;
  readonly finalAcc?: number;
}

export class RunFolder {
  private constructor(
    readonly dir: string,
    private record: RunRecord,
    private readonly lock: RunLock,
    private readonly isNew: boolean,
  ) {}

  get runId(): string {
    return this.record.runId;
  }

  get status(): RunStatus {
    return this.record.status;
  }

  /** The stale lock of a dead process this folder took over, for the log. */
  get tookOverFrom(): RunLock['tookOverFrom'] {
    return this.lock.tookOverFrom;
  }

  /**
   * A new run folder `<runsDir>/<experiment>/<runId>` with its config copy and a "running"
   * record. Called once the engine is ready to train, so a run that fails to start (bad data,
   * no backend) leaves nothing on disk.
   */
  static create(runsDir: string, config: RpgConfig, configPath: string | undefined, info: EngineRunInfo, runId = newRunId()): RunFolder {
    const dir = runDirFor(runsDir, config.name, runId);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw storageError(err, path.join(dir, 'run.json'));
    }
    const lock = acquireRunLock(dir);
    const record: RunRecord = {
      runId,
      name: config.name ?? 'experiment',
      ...(configPath ? { configPath: path.resolve(configPath), configRelPath: path.relative(dir, path.resolve(configPath)).split(path.sep).join('/') } : {}),
      config,
      status: 'running',
      ...describe(info),
      startedAt: new Date().toISOString(),
      durationSec: 0,
      step: 0,
      epoch: 0,
      ...owner(),
    };
    const folder = new RunFolder(dir, record, lock, true);
    try {
      writeFileSync(runFiles(dir).config, JSON.stringify(config, null, 2) + '\n');
      folder.save();
    } catch (err) {
      lock.release();
      throw storageError(err, runFiles(dir).config);
    }
    return folder;
  }

  /**
   * An existing run folder, to resume: takes its lock (refusing a second writer) and reads its
   * record once. The record's config is what the resumed run trains.
   */
  static open(runDir: string): RunFolder {
    const dir = path.resolve(runDir);
    const lock = acquireRunLock(dir);
    const record = readRunRecord(dir);
    if (!record) {
      lock.release();
      throw new Error(`${runFiles(dir).record} is missing or unreadable: ${dir} is not a run folder`);
    }
    return new RunFolder(dir, record, lock, false);
  }

  /** The record as read (open) or written last. */
  get current(): RunRecord {
    return this.record;
  }

  /**
   * A resumed run starts again: rows written after its checkpoint (by a process that then
   * died) are dropped, temp files of killed writers removed, the record marked running.
   */
  resume(info: EngineRunInfo): void {
    removeStaleTempFiles(this.dir);
    truncateMetricsAfter(runFiles(this.dir).metrics, info.startStep);
    const { error: _error, endedAt: _ended, ...rest } = this.record;
    this.record = { ...rest, status: 'running', ...describe(info), ...owner() };
    this.save();
  }

  appendRow(row: MetricRow): void {
    const file = runFiles(this.dir).metrics;
    const line = JSON.stringify(row) + '\n';
    try {
      appendFileSync(file, line);
    } catch (err) {
      throw storageError(err, file, line.length);
    }
  }

  /** A checkpoint is on disk: the record says how far the run got. */
  checkpointed(progress: RunProgress): void {
    // The record says where the run can resume from (the checkpoint's step), not only how far it got.
    this.record = { ...this.record, ...progressFields(progress), checkpointStep: progress.step };
    this.save();
  }

  /** The run ended (finished, or stopped with a checkpoint); releases the folder. */
  end(status: 'finished' | 'stopped', progress: RunProgress): void {
    try {
      this.record = { ...stripOwner(this.record), ...progressFields(progress), status, endedAt: new Date().toISOString() };
      this.save();
    } finally {
      this.lock.release();
    }
  }

  /**
   * The run failed: the record keeps the error and how far it got (its last checkpoint is
   * intact). Never throws — the caller is already handling the failure being recorded.
   */
  fail(failure: Pick<Failure, 'code' | 'message' | 'field' | 'file'>, progress?: RunProgress): void {
    try {
      const error = { code: failure.code, message: failure.message, ...(failure.field ? { field: failure.field } : {}), ...(failure.file ? { file: failure.file } : {}) };
      this.record = { ...stripOwner(this.record), ...(progress ? progressFields(progress) : {}), status: 'failed', endedAt: new Date().toISOString(), error };
      this.save();
    } catch {
      // A full disk may refuse this write too; the error the caller reports says why.
    } finally {
      this.lock.release();
    }
  }

  /** Gives up the folder without touching its record (a resume refused before it began). */
  release(): void {
    this.lock.release();
  }

  /** Whether this process created the folder (a new run) rather than reopened it. */
  get created(): boolean {
    return this.isNew;
  }

  private save(): void {
    writeFileAtomic(runFiles(this.dir).record, JSON.stringify(this.record, null, 2) + '\n');
  }
}

/** What markRunInterrupted found and did. */
export interface Interruption {
  /** Whether the record was rewritten (it said "running" and its owner is gone). */
  readonly changed: boolean;
  /** The reason, with how far the run got and whether it can be resumed, as the files say. */
  readonly message: string;
  /** Undefined when the folder holds no readable record. */
  readonly left?: LeftOnDisk;
}

/**
 * A run whose process died keeps status "running" in its run.json, with the numbers of its
 * last checkpoint: rewrite it as failed, with how far it really got (metrics.jsonl) and the
 * reason, so every reader tells the truth. Left alone: a record that is not "running", or whose
 * owner still lives (a CLI or a newer trainer resumed it). The message describes the files
 * either way.
 */
export function markRunInterrupted(runDir: string, reason: string): Interruption {
  const record = readRunRecord(runDir);
  if (!record) return { changed: false, message: `${reason.replace(/[.\s]+$/, '')}. ${runFiles(runDir).record} is missing or unreadable.` };
  const left = leftOnDisk(runDir, record);
  const message = interruptionMessage(reason, left);
  if (record.status !== 'running' || runOwnerAlive(record) === true) return { changed: false, message: record.error?.message ?? message, left };
  const { checkpointStep: _stale, ...rest } = stripOwner(record);
  const updated: RunRecord = {
    ...rest,
    step: left.step,
    epoch: left.epoch,
    durationSec: left.durationSec,
    ...(left.checkpointStep !== undefined ? { checkpointStep: left.checkpointStep } : {}),
    status: 'failed',
    endedAt: new Date().toISOString(),
    error: { code: 'interrupted', message },
  };
  writeFileAtomic(runFiles(runDir).record, JSON.stringify(updated, null, 2) + '\n');
  return { changed: true, message, left };
}

function describe(info: EngineRunInfo): Pick<RunRecord, 'engine' | 'backend' | 'device' | 'arch' | 'dataset' | 'dof' | 'ringSize' | 'totalParams'> {
  return {
    engine: info.engine,
    backend: info.backend,
    ...(info.device ? { device: info.device } : {}),
    arch: info.arch,
    dataset: info.dataset,
    dof: info.summary.dof,
    ringSize: info.summary.ringSize,
    totalParams: info.summary.totalParams,
  };
}

function progressFields(p: RunProgress): Partial<RunRecord> {
  return {
    step: p.step,
    epoch: p.epoch,
    durationSec: p.durationSec,
    ...(p.bestAcc !== undefined && p.bestAcc > 0 ? { bestAcc: p.bestAcc } : {}),
    ...(p.finalAcc !== undefined ? { finalAcc: p.finalAcc } : {}),
  };
}

function owner(): { pid: number; hostname: string } {
  return { pid: process.pid, hostname: hostname() };
}

function stripOwner(record: RunRecord): RunRecord {
  const { pid: _pid, hostname: _host, ...rest } = record;
  return rest;
}

/** On resume, rows written after the checkpoint (by a run that then crashed) are dropped. */
function truncateMetricsAfter(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        return (JSON.parse(line) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
  writeFileAtomic(file, kept.length ? kept.join('\n') + '\n' : '');
}
