// Reading a run's record (run.json) so that every reader — extension, language server, CLI,
// engines — sees the same checked fields, and telling a live run from one whose process died.
import { readFileSync, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type { RunRecord, RunStatus } from './types';

import { RUN_FILE } from './layout';

const STATUSES: readonly RunStatus[] = ['running', 'finished', 'stopped', 'failed'];

/** The run's record, checked (see parseRunRecord); undefined when missing or not a record. */
export function readRunRecord(runDir: string): RunRecord | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(runDir, RUN_FILE), 'utf8');
  } catch {
    return undefined;
  }
  return parseRunRecord(text, runDir);
}

/** readRunRecord without blocking the event loop (the extension host reads many). */
export async function readRunRecordAsync(runDir: string): Promise<RunRecord | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(runDir, RUN_FILE), 'utf8');
  } catch {
    return undefined;
  }
  return parseRunRecord(text, runDir);
}

/**
 * A run.json's text as a RunRecord every reader can rely on: not JSON or not an object →
 * undefined; missing ids fall back to the folder's name, missing numbers to 0, missing strings
 * to "?"; a status outside the known ones reads as "failed", with an error that says why.
 */
export function parseRunRecord(text: string, runDir: string): RunRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const str = (v: unknown, fallback: string) => (typeof v === 'string' && v ? v : fallback);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const optNum = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const folder = path.basename(runDir);
  const knownStatus = typeof r.status === 'string' && (STATUSES as readonly string[]).includes(r.status);
  const error = isError(r.error) ? r.error : undefined;
  const record: RunRecord = {
    ...(r as object),
    runId: str(r.runId, folder),
    name: str(r.name, str(r.runId, folder)),
    config: (typeof r.config === 'object' && r.config !== null ? r.config : {}) as RunRecord['config'],
    status: knownStatus ? (r.status as RunStatus) : 'failed',
    backend: str(r.backend, '?'),
    arch: str(r.arch, '?'),
    dataset: str(r.dataset, '?'),
    dof: num(r.dof),
    ringSize: num(r.ringSize),
    totalParams: num(r.totalParams),
    startedAt: str(r.startedAt, ''),
    durationSec: num(r.durationSec),
    step: num(r.step),
    epoch: num(r.epoch),
  };
  const mutable = record as { -readonly [K in keyof RunRecord]: RunRecord[K] };
  for (const key of ['bestAcc', 'finalAcc', 'pid', 'checkpointStep'] as const) {
    const v = optNum(r[key]);
    if (v === undefined) delete mutable[key];
    else mutable[key] = v;
  }
  if (typeof r.configPath !== 'string' || !r.configPath) delete (mutable as { configPath?: string }).configPath;
  if (typeof r.configRelPath !== 'string' || !r.configRelPath) delete (mutable as { configRelPath?: string }).configRelPath;
  if (typeof r.endedAt !== 'string') delete mutable.endedAt;
  if (typeof r.hostname !== 'string') delete mutable.hostname;
  if (typeof r.engine !== 'string' || !r.engine) delete mutable.engine;
  if (typeof r.device !== 'string' || !r.device) delete mutable.device;
  if (error) mutable.error = error;
  else delete mutable.error;
  if (!knownStatus) mutable.error = { code: 'internal', message: `${path.join(runDir, RUN_FILE)} has an unknown status ${JSON.stringify(r.status ?? null)}; shown as failed` };
  return record;
}

function isError(v: unknown): v is NonNullable<RunRecord['error']> {
  return typeof v === 'object' && v !== null && typeof (v as { code?: unknown }).code === 'string' && typeof (v as { message?: unknown }).message === 'string';
}

/** Who trains a run: written into run.json while it trains. */
export function runOwner(): { pid: number; hostname: string } {
  return { pid: process.pid, hostname: hostname() };
}

/**
 * Whether the process that wrote a "running" record still runs: true (alive), false (it
 * died: the record is stale) or undefined (unknown: no pid, or it ran on another host).
 */
export function runOwnerAlive(record: Pick<RunRecord, 'pid' | 'hostname'>): boolean | undefined {
  if (typeof record.pid !== 'number' || !(record.pid > 0)) return undefined;
  if (record.hostname !== undefined && record.hostname !== hostname()) return undefined;
  return processAlive(record.pid);
}

/** Whether `pid` runs. A zombie (killed, not yet reaped by its parent) holds no run: it counts as gone. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** Linux only (elsewhere: false): the state field of /proc/<pid>/stat is Z. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
