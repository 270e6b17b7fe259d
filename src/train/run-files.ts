// The files of a run folder and how to read its record — no tensor code, so the extension
// (which must never load tfjs) can read runs with the same names the engine writes.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from './types';

export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';
/** The config a run was started with, copied into its folder. */
export const RUN_CONFIG_FILE = 'config.rpg.json';

export function readRunRecord(runDir: string): RunRecord | undefined {
  try {
    return JSON.parse(readFileSync(path.join(runDir, RUN_FILE), 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}
