// The Experiments table's rows: one per run, its parameters from the run's record and config,
// its metrics from the end of metrics.jsonl (re-read only when the file changed) or, while it
// trains, from the trainer's live progress. No vscode import (unit-tested
// directly); the panel host (compare-panel.ts) feeds it RunsModel's runs.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CHECKPOINT_FILE, METRICS_FILE } from '../../core/runs/layout';
import { parseMetricsJsonl } from './run-files';
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
  /** Mean samples/s of the training rows read (the end of the run: its steady rate). */
  readonly samplesPerSec?: number;
}

/** How much of a metrics.jsonl's end is read: about a hundred rows, whatever the run's length. */
export const METRICS_TAIL_BYTES = 16 * 1024;

/**
 * Summaries of metrics.jsonl files from their last METRICS_TAIL_BYTES, cached by size and
 * modification time: a table of 1,000 runs reads 1,000 short tails once, and afterwards only
 * the files that changed (the runs training now). The record (run.json) has the rest: step,
 * best and final accuracy, duration.
 */
export class MetricsTails {
  private readonly cache = new Map<string, { size: number; mtimeMs: number; summary: MetricsSummary }>();

  async summary(runDir: string): Promise<MetricsSummary | undefined> {
    const file = path.join(runDir, METRICS_FILE);
    let stat;
    try {
      stat = await fs.stat(file);
    } catch {
      this.cache.delete(runDir);
      return undefined;
    }
    const hit = this.cache.get(runDir);
    if (hit && hit.size === stat.size && hit.mtimeMs === stat.mtimeMs) return hit.summary;
    const summary = summarize(await readTail(file, stat.size));
    this.cache.set(runDir, { size: stat.size, mtimeMs: stat.mtimeMs, summary });
    return summary;
  }

  /** Forgets runs that are gone. */
  keepOnly(runDirs: ReadonlySet<string>): void {
    for (const dir of this.cache.keys()) if (!runDirs.has(dir)) this.cache.delete(dir);
  }
}

/** The complete rows among the file's last bytes (a cut first line and an unfinished last one left out). */
async function readTail(file: string, size: number): Promise<string> {
  const start = Math.max(0, size - METRICS_TAIL_BYTES);
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(size - start);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    const from = start > 0 ? text.indexOf('\n') + 1 : 0;
    return text.slice(from, text.lastIndexOf('\n') + 1);
  } finally {
    await handle.close();
  }
}

/** What the table shows of the rows, parsed as every panel parses metrics.jsonl (run-files.ts). */
function summarize(text: string): MetricsSummary {
  const { train, eval: evals } = parseMetricsJsonl(text);
  const last = (xs: readonly number[]) => [...xs].reverse().find((v) => Number.isFinite(v));
  const sps = train.samplesPerSec.filter((v) => Number.isFinite(v) && v > 0);
  const accs = evals.acc.filter((v) => Number.isFinite(v));
  const steps = Math.max(0, ...train.step.filter(Number.isFinite), ...evals.step.filter(Number.isFinite));
  const trainLoss = last(train.loss);
  const evalLoss = last(evals.loss);
  const evalAcc = last(evals.acc);
  return {
    steps,
    ...(trainLoss !== undefined ? { trainLoss } : {}),
    ...(evalLoss !== undefined ? { evalLoss } : {}),
    ...(evalAcc !== undefined ? { evalAcc } : {}),
    ...(accs.length ? { bestEvalAcc: Math.max(...accs) } : {}),
    ...(sps.length ? { samplesPerSec: sps.reduce((x, y) => x + y, 0) / sps.length } : {}),
  };
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

/** Every run's row; metrics files read through `tails` (only those that changed). */
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
