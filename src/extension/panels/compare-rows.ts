// The Experiments table's rows: one per run, its parameters from the run's record and config,
// its metrics from metrics.jsonl (read incrementally: only the bytes appended since the last
// look) or, while it trains, from the trainer's live progress. No vscode import (unit-tested
// directly); the panel host (compare-panel.ts) feeds it RunsModel's runs.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CHECKPOINT_FILE, METRICS_FILE } from '../../core/runs/layout';
import type { RunRecord } from '../../core/runs/types';
import type { CompareRow, RunMethod } from '../../webview-contract';

/** What a row needs of a run: RunsModel's RunInfo has it. */
export interface RunSource {
  readonly runId: string;
  readonly dir: string;
  readonly record?: RunRecord;
  readonly status: CompareRow['status'];
  readonly hasCheckpoint: boolean;
  readonly live?: { readonly progress: number; readonly samplesPerSec: number; readonly loss: number };
}

/** What the table shows of a metrics.jsonl. */
export interface MetricsSummary {
  readonly steps: number;
  readonly trainLoss?: number;
  readonly evalLoss?: number;
  readonly evalAcc?: number;
  readonly bestEvalAcc?: number;
  /** Mean of the training rows' samples/s. */
  readonly samplesPerSec?: number;
}

interface Tail {
  offset: number;
  /** An incomplete last line (a row being written), kept for the next read. */
  partial: string;
  steps: number;
  trainLoss?: number;
  evalLoss?: number;
  evalAcc?: number;
  bestEvalAcc?: number;
  spsSum: number;
  spsCount: number;
}

const newTail = (): Tail => ({ offset: 0, partial: '', steps: 0, spsSum: 0, spsCount: 0 });

/**
 * Summaries of metrics.jsonl files, each file read once and then only its new bytes: a table
 * of 1,000 runs refreshed while one trains reads a few rows, not every file again. A file that
 * shrank (a resumed run drops rows after its checkpoint) is read again from the start.
 */
export class MetricsTails {
  private readonly tails = new Map<string, Tail>();

  async summary(runDir: string): Promise<MetricsSummary | undefined> {
    const file = path.join(runDir, METRICS_FILE);
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch {
      this.tails.delete(runDir);
      return undefined;
    }
    let tail = this.tails.get(runDir) ?? newTail();
    if (size < tail.offset) tail = newTail();
    if (size > tail.offset) {
      const handle = await fs.open(file, 'r');
      try {
        const buffer = Buffer.alloc(size - tail.offset);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, tail.offset);
        const text = tail.partial + buffer.subarray(0, bytesRead).toString('utf8');
        const lines = text.split('\n');
        tail.partial = lines.pop() ?? '';
        tail.offset += bytesRead;
        for (const line of lines) absorb(tail, line);
      } finally {
        await handle.close();
      }
    }
    this.tails.set(runDir, tail);
    return {
      steps: tail.steps,
      ...(tail.trainLoss !== undefined ? { trainLoss: tail.trainLoss } : {}),
      ...(tail.evalLoss !== undefined ? { evalLoss: tail.evalLoss } : {}),
      ...(tail.evalAcc !== undefined ? { evalAcc: tail.evalAcc } : {}),
      ...(tail.bestEvalAcc !== undefined ? { bestEvalAcc: tail.bestEvalAcc } : {}),
      ...(tail.spsCount ? { samplesPerSec: tail.spsSum / tail.spsCount } : {}),
    };
  }

  /** Forgets runs that are gone. */
  keepOnly(runDirs: ReadonlySet<string>): void {
    for (const dir of this.tails.keys()) if (!runDirs.has(dir)) this.tails.delete(dir);
  }
}

function absorb(tail: Tail, line: string): void {
  if (!line.trim()) return;
  let row: Record<string, unknown>;
  try {
    row = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return; // a torn line: metrics readers skip them (run-files.ts does too)
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const step = num(row['step']);
  if (step === undefined) return;
  tail.steps = Math.max(tail.steps, step);
  if (row['type'] === 'train') {
    tail.trainLoss = num(row['loss']) ?? tail.trainLoss;
    const sps = num(row['samplesPerSec']);
    if (sps !== undefined && sps > 0) {
      tail.spsSum += sps;
      tail.spsCount++;
    }
  } else if (row['type'] === 'eval') {
    tail.evalLoss = num(row['loss']) ?? tail.evalLoss;
    const acc = num(row['acc']);
    if (acc !== undefined) {
      tail.evalAcc = acc;
      tail.bestEvalAcc = Math.max(tail.bestEvalAcc ?? 0, acc);
    }
  }
}

/** RPG, a baseline (rpg.method, or a narrowed plain model) or the plain model, from a run's config. */
export function methodOf(config: RunRecord['config'] | undefined): RunMethod {
  const rpg = config?.rpg as { enabled?: unknown; method?: unknown } | undefined;
  if (!rpg || rpg.enabled === false) return typeof config?.model?.width === 'number' && config.model.width !== 1 ? 'width' : 'plain';
  return rpg.method === 'subspace' || rpg.method === 'hashed' ? rpg.method : 'rpg';
}

/** JSON with sorted keys: equal configs give equal text whatever order their fields were written in. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Runs whose configs differ only in seed (and description) share a key: their seeds are repeats. */
export function groupKeyOf(record: RunRecord | undefined, fallback: string): string {
  if (!record?.config || typeof record.config !== 'object') return fallback;
  const { seed: _seed, description: _description, ...rest } = record.config as unknown as Record<string, unknown>;
  return stableJson({ arch: record.arch, dataset: record.dataset, config: rest });
}

/** `<name>-sweep/<sweep id>` when the run folder is a point of a sweep. */
export function sweepOf(runDir: string): string | undefined {
  const parts = path.resolve(runDir).split(path.sep);
  for (let i = parts.length - 2; i >= 1; i--) if (parts[i - 1]!.endsWith('-sweep')) return `${parts[i - 1]}/${parts[i]}`;
  return undefined;
}

/** A run as a table row. */
export function compareRow(run: RunSource, metrics: MetricsSummary | undefined, checkpointBytes: number | undefined): CompareRow {
  const r = run.record;
  const c = r?.config;
  const live = run.status === 'running' ? run.live : undefined;
  const opt = <K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } => (v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v)) ? {} : ({ [key]: v } as { [P in K]?: V }));
  const method = methodOf(c);
  const sweep = sweepOf(run.dir);
  const bestAcc = r?.bestAcc ?? metrics?.bestEvalAcc;
  // A finished record holds the final accuracy; a stopped or running one, the last evaluation so far.
  const finalAcc = r?.finalAcc ?? metrics?.evalAcc;
  return {
    runDir: run.dir,
    runId: run.runId,
    name: r?.name ?? run.runId,
    status: run.status,
    ...opt('progress', live?.progress),
    hasCheckpoint: run.hasCheckpoint,
    ...opt('sweep', sweep),
    groupKey: groupKeyOf(r, run.dir),
    arch: r?.arch ?? '?',
    dataset: r?.dataset ?? '?',
    method,
    ...opt('generate', method === 'plain' || method === 'width' ? undefined : (c?.rpg as { generate?: string } | undefined)?.generate ?? 'kernels'),
    dof: r?.dof ?? 0,
    ringSize: r?.ringSize ?? 0,
    totalParams: r?.totalParams ?? 0,
    ...opt('width', c?.model?.width ?? 1),
    ...opt('sampling', method === 'rpg' ? c?.rpg?.sampling : undefined),
    ...opt('lr', c?.train?.lr),
    ...opt('optimizer', c?.train?.optimizer),
    ...opt('schedule', c?.train?.schedule),
    ...opt('batchSize', c?.train?.batchSize),
    ...opt('epochs', c?.train?.epochs),
    ...opt('engine', r?.engine ?? c?.train?.engine ?? 'tfjs'),
    ...opt('backend', r?.backend),
    ...opt('device', r?.device),
    ...opt('seed', c?.seed),
    ...opt('startedAt', r?.startedAt || undefined),
    ...opt('bestAcc', bestAcc),
    ...opt('finalAcc', finalAcc),
    ...opt('finalLoss', metrics?.evalLoss),
    ...opt('trainLoss', live?.loss ?? metrics?.trainLoss),
    ...opt('steps', Math.max(r?.step ?? 0, metrics?.steps ?? 0) || undefined),
    ...opt('durationSec', r?.durationSec),
    ...opt('samplesPerSec', live?.samplesPerSec ?? metrics?.samplesPerSec),
    ...opt('checkpointBytes', checkpointBytes),
  };
}

/** Every run's row; metrics files read incrementally through `tails`. */
export async function compareRows(runs: readonly RunSource[], tails: MetricsTails): Promise<CompareRow[]> {
  const withDirs = runs.filter((r) => r.dir);
  tails.keepOnly(new Set(withDirs.map((r) => r.dir)));
  return Promise.all(
    withDirs.map(async (run) => {
      const [metrics, ckpt] = await Promise.all([tails.summary(run.dir), run.hasCheckpoint ? fs.stat(path.join(run.dir, CHECKPOINT_FILE)).then((s) => s.size, () => undefined) : undefined]);
      return compareRow(run, metrics, ckpt);
    }),
  );
}
