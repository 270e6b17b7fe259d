// Reading runs from disk for the panels: run.json → RunInfo, metrics.jsonl → columns.
// No vscode import (unit-tested directly). A run being written may end in a partial line:
// such lines are skipped and counted, never fatal.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { EvalColumns, RunInfo, RunSeries, TrainColumns } from '../../webview-contract';

import { METRICS_FILE, RUN_FILE } from '../../core/runs/layout';
import { parseRunRecord, readRunRecord } from '../../core/runs/record';
import { scanRuns } from '../../core/runs/scan';
import type { RunRecord } from '../../core/runs/types';

export { METRICS_FILE, RUN_FILE };

export function emptyTrain(): TrainColumns {
  return { step: [], epoch: [], loss: [], acc: [], lr: [], samplesPerSec: [], time: [] };
}

export function emptyEval(): EvalColumns {
  return { step: [], epoch: [], loss: [], acc: [], time: [] };
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** Appends one metrics row (train or eval) to the columns; false when it is neither. */
export function pushRow(train: TrainColumns, evals: EvalColumns, row: Record<string, unknown>): boolean {
  if (typeof row['step'] !== 'number') return false;
  if (row['type'] === 'train') {
    train.step.push(num(row['step']));
    train.epoch.push(num(row['epoch']));
    train.loss.push(num(row['loss']));
    train.acc.push(num(row['acc']));
    train.lr.push(num(row['lr']));
    train.samplesPerSec.push(num(row['samplesPerSec']));
    train.time.push(num(row['time']));
    return true;
  }
  if (row['type'] === 'eval') {
    evals.step.push(num(row['step']));
    evals.epoch.push(num(row['epoch']));
    evals.loss.push(num(row['loss']));
    evals.acc.push(num(row['acc']));
    evals.time.push(num(row['time']));
    return true;
  }
  return false;
}

export function parseMetricsJsonl(text: string): { train: TrainColumns; eval: EvalColumns; skipped: number } {
  const train = emptyTrain();
  const evals = emptyEval();
  let skipped = 0;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    try {
      const row: unknown = JSON.parse(trimmed);
      if (!row || typeof row !== 'object' || !pushRow(train, evals, row as Record<string, unknown>)) skipped++;
    } catch {
      skipped++;
    }
  }
  return { train, eval: evals, skipped };
}

/** run.json text → RunInfo (through the trainer's own run.json parser); undefined when it is not a run record. */
export function parseRunJson(text: string, runDir: string): RunInfo | undefined {
  const r = parseRunRecord(text, runDir);
  return r && toRunInfo(r, runDir);
}

function toRunInfo(r: RunRecord, runDir: string): RunInfo {
  return {
    runDir,
    runId: r.runId,
    // An unnamed run is labelled by its experiment folder, more telling in a legend than its id.
    name: r.name !== r.runId ? r.name : path.basename(path.dirname(runDir)),
    arch: r.arch,
    dataset: r.dataset,
    dof: r.dof,
    ringSize: r.ringSize,
    status: r.status,
    ...(r.bestAcc !== undefined ? { bestAcc: r.bestAcc } : {}),
    ...(r.finalAcc !== undefined ? { finalAcc: r.finalAcc } : {}),
    rpg: (r.config as { rpg?: { enabled?: unknown } } | undefined)?.rpg?.enabled !== false,
    ...(r.startedAt ? { startedAt: r.startedAt } : {}),
  };
}

export function readRunInfo(runDir: string): RunInfo | undefined {
  const r = readRunRecord(runDir);
  return r && toRunInfo(r, runDir);
}

export function readRunSeries(runDir: string): RunSeries | undefined {
  const info = readRunInfo(runDir);
  if (!info) return undefined;
  const file = path.join(runDir, METRICS_FILE);
  const parsed = existsSync(file) ? parseMetricsJsonl(readFileSync(file, 'utf8')) : { train: emptyTrain(), eval: emptyEval(), skipped: 0 };
  return { info, ...parsed };
}

/** Every run under a runs folder (the core's scanner, sweeps' runs included), newest first. */
export async function listRuns(runsDir: string): Promise<RunInfo[]> {
  return (await scanRuns(runsDir)).map((r) => toRunInfo(r.record, r.dir));
}

/** The run folders among `dirs` that are gone (no run.json any more): what a Refresh drops. */
export function goneRunDirs(dirs: Iterable<string>): string[] {
  return [...dirs].filter((dir) => !existsSync(path.join(dir, RUN_FILE)));
}
