// The shape of a runs folder, in one place: `<runs>/<experiment>/<run id>/` holding run.json,
// metrics.jsonl, config.rpg.json and checkpoint.bin. Sweeps nest their runs one level deeper
// (`<runs>/<name>-sweep/<sweep id>/<point>/<seed>/`), so readers find run folders by the
// run.json they hold, not by a fixed depth (scan.ts).
import * as path from 'node:path';

export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';
/** The config a run was started with, copied into its folder. */
export const RUN_CONFIG_FILE = 'config.rpg.json';
export const CHECKPOINT_FILE = 'checkpoint.bin';
/** Held by the one process that writes a run (lock.ts). */
export const LOCK_FILE = 'run.lock';

/** A sortable, readable run id: 2026-11-28T23-10-05-123Z. */
export function newRunId(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

/** The folder name an experiment's runs are filed under: its name, made safe for any file system. */
export function experimentFolderName(name: string | undefined): string {
  return (name ?? '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'experiment';
}

/** `<runsDir>/<experiment>/<runId>`. */
export function runDirFor(runsDir: string, experimentName: string | undefined, runId: string): string {
  return path.join(runsDir, experimentFolderName(experimentName), runId);
}

/** The runs folder a top-level run folder belongs to (`<runs>/<experiment>/<run id>` → `<runs>`). */
export function runsDirOf(runDir: string): string {
  return path.dirname(path.dirname(path.resolve(runDir)));
}

/** The files of a run folder. */
export function runFiles(runDir: string): { record: string; metrics: string; config: string; checkpoint: string; lock: string } {
  return {
    record: path.join(runDir, RUN_FILE),
    metrics: path.join(runDir, METRICS_FILE),
    config: path.join(runDir, RUN_CONFIG_FILE),
    checkpoint: path.join(runDir, CHECKPOINT_FILE),
    lock: path.join(runDir, LOCK_FILE),
  };
}
