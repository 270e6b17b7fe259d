// What a run whose process died left on disk, and the one sentence that says so. A killed
// process cannot update its record, so its run.json still holds the numbers of its last
// checkpoint (or of its start); metrics.jsonl, appended every step, knows how far it really got.
// Every message about an interrupted run (the extension after its trainer died, a scan that finds
// a stale "running" record) is built here from those files, so none claims a checkpoint that is
// not there.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { count, duration } from '../format/numbers';
import { runFiles } from './layout';
import type { RunRecord } from './types';

/** How far a run got and what it can resume from. */
export interface LeftOnDisk {
  /** The last step in metrics.jsonl (or the record's, when that is further). */
  readonly step: number;
  readonly epoch: number;
  /** Training time up to that step, seconds. */
  readonly durationSec: number;
  /** Step of the checkpoint.bin on disk; undefined when there is none. */
  readonly checkpointStep?: number;
}

/** How much of the end of metrics.jsonl is read to find its last rows. */
const TAIL_BYTES = 64 * 1024;

export function leftOnDisk(runDir: string, record: Pick<RunRecord, 'step' | 'epoch' | 'durationSec' | 'checkpointStep'>): LeftOnDisk {
  const files = runFiles(runDir);
  const hasCheckpoint = existsSync(files.checkpoint);
  // Records written before checkpointStep existed moved `step` only when a checkpoint was written.
  const checkpointStep = hasCheckpoint ? (record.checkpointStep ?? record.step) : undefined;
  const last = lastMetricsRow(files.metrics);
  const further = last && last.step >= record.step;
  return {
    step: further ? last.step : record.step,
    epoch: further ? last.epoch : record.epoch,
    durationSec: further ? Math.max(last.time, record.durationSec) : record.durationSec,
    ...(checkpointStep !== undefined ? { checkpointStep } : {}),
  };
}

/**
 * "<reason> at step 120 (25 s of training). It had not written a checkpoint yet…": the whole
 * truth about an interrupted run, for its record, notifications and the views.
 */
export function interruptionMessage(reason: string, left: LeftOnDisk): string {
  const where = left.step > 0 ? ` at step ${count(left.step)} (${duration(left.durationSec)} of training)` : ' before its first step';
  const cs = left.checkpointStep;
  const next =
    cs === undefined
      ? 'It had not written a checkpoint yet, so there is nothing to resume: train the config again.'
      : `Its last checkpoint, at step ${count(cs)}, is intact: resume the run from the Experiments view${left.step > cs ? ` (the ${count(left.step - cs)} step${left.step - cs === 1 ? '' : 's'} after it are trained again)` : ''}.`;
  return `${reason.replace(/[.\s]+$/, '')}${where}. ${next}`;
}

/** The last parseable row (train or eval) of a metrics file, reading only its end. */
export function lastMetricsRow(file: string): { step: number; epoch: number; time: number } | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    // The first line may be cut by the tail; the last may be half-written by a killed process.
    for (let i = lines.length - 1; i >= (length < size ? 1 : 0); i--) {
      const line = lines[i]!.trim();
      if (!line) continue;
      try {
        const row = JSON.parse(line) as { step?: unknown; epoch?: unknown; time?: unknown };
        if (typeof row.step === 'number' && Number.isFinite(row.step)) {
          return { step: row.step, epoch: typeof row.epoch === 'number' ? row.epoch : 0, time: typeof row.time === 'number' ? row.time : 0 };
        }
      } catch {
        // a partial line: try the one before
      }
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
