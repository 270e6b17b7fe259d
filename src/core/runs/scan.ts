// The one scanner of runs folders. A run folder is any folder holding a run.json, found at any
// depth up to MAX_DEPTH under a runs folder (experiments at depth 2, sweep points at depth 4);
// the scan does not descend into a run folder. What a record says is checked against the
// processes alive: a "running" record whose process is gone reads as interrupted.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { specialFileSystem } from './check-folder';
import { interruptionMessage, leftOnDisk } from './interrupted';
import { CHECKPOINT_FILE, METRICS_FILE, RUN_FILE } from './layout';
import { LockOwner, ownerAlive, readLockOwner } from './lock';
import { readRunRecordAsync, runOwnerAlive } from './record';
import type { RunRecord } from './types';

/** Deep enough for `<runs>/<name>-sweep/<sweep id>/<point>/<seed>`. */
const MAX_DEPTH = 4;
/** A "running" record without an owner pid whose metrics did not grow for this long is stale. */
const LEGACY_STALE_MS = 15 * 60_000;

export interface ScannedRun {
  readonly dir: string;
  /** As read; for an interrupted run, status "failed" with an error that says so. */
  readonly record: RunRecord;
  readonly hasCheckpoint: boolean;
  /** The record said "running" but the process that trained it is gone. */
  readonly interrupted?: boolean;
  /** Another process (here or on another host) trains it now: not this caller's to touch. */
  readonly elsewhere?: LockOwner;
}

export interface ScanOptions {
  /** Runs the caller trains itself (a trainer's queue): never "interrupted" or "elsewhere". */
  readonly isActive?: (runId: string, dir: string) => boolean;
}

/** Every run under `runsDir`, newest first (by start time, then id). Missing folder: none. */
export async function scanRuns(runsDir: string, options: ScanOptions = {}): Promise<ScannedRun[]> {
  const dirs: string[] = [];
  // /proc or /sys as a runs folder (a mistyped setting) holds no runs, only an endless tree.
  if (specialFileSystem(path.resolve(runsDir))) return [];
  await collectRunDirs(path.resolve(runsDir), 0, dirs);
  const runs = (await Promise.all(dirs.map((dir) => readScannedRun(dir, options)))).filter((r): r is ScannedRun => r !== undefined);
  return runs.sort((a, b) => (b.record.startedAt || '').localeCompare(a.record.startedAt || '') || b.record.runId.localeCompare(a.record.runId));
}

async function collectRunDirs(dir: string, depth: number, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  if (depth > 0 && entries.some((e) => e.isFile() && e.name === RUN_FILE)) {
    out.push(dir);
    return;
  }
  if (depth >= MAX_DEPTH) return;
  // Symbolic links are not followed: a link cycle must not make the scan endless.
  await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => collectRunDirs(path.join(dir, e.name), depth + 1, out)));
}

/** One run folder as a scan sees it; undefined when its run.json is not a record. */
export async function readScannedRun(dir: string, options: ScanOptions = {}): Promise<ScannedRun | undefined> {
  const record = await readRunRecordAsync(dir);
  if (!record) return undefined;
  const hasCheckpoint = await exists(path.join(dir, CHECKPOINT_FILE));
  if (record.status !== 'running' || options.isActive?.(record.runId, dir)) return { dir, record, hasCheckpoint };
  const lock = readLockOwner(dir);
  if (lock && ownerAlive(lock) !== false) return { dir, record, hasCheckpoint, elsewhere: lock };
  if (!(await ownerGone(dir, record))) {
    return { dir, record, hasCheckpoint, ...(record.pid !== undefined ? { elsewhere: { pid: record.pid, hostname: record.hostname ?? '?', startedAt: record.startedAt } } : {}) };
  }
  const who = record.pid ? `the process that trained it (pid ${record.pid}) is gone` : 'no process has written to it for a long time';
  const left = leftOnDisk(dir, record);
  const message = interruptionMessage(`Interrupted: the run was still marked running but ${who}`, left);
  const interrupted: RunRecord = {
    ...record, status: 'failed', step: left.step, epoch: left.epoch, durationSec: left.durationSec,
    ...(left.checkpointStep !== undefined ? { checkpointStep: left.checkpointStep } : {}),
    error: { code: 'interrupted', message },
  };
  return { dir, record: interrupted, hasCheckpoint, interrupted: true };
}

/** Whether the process that trained a "running" record is gone (never for another host's). */
async function ownerGone(dir: string, record: RunRecord): Promise<boolean> {
  const alive = runOwnerAlive(record);
  if (alive !== undefined) return !alive;
  if (record.pid !== undefined) return false;
  // Records written before runs carried their pid: stale when metrics stopped growing long ago.
  try {
    const stat = await fs.stat(path.join(dir, METRICS_FILE)).catch(() => fs.stat(path.join(dir, RUN_FILE)));
    return Date.now() - stat.mtimeMs > LEGACY_STALE_MS;
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
