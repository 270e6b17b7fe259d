// A run's checkpoint on its test split, on the engine its config names: what `rpg eval RUN` and
// the trainer's eval job both do. The checkpoint is verified (checksum, then plan) before any
// number comes out; a config this version cannot read is a checkpoint error, not a config error.
import * as path from 'node:path';
import type { BackendName, RpgConfig } from '../core/config/schema';
import { validateConfig } from '../core/config/load';
import { checkpointPathOf, readCheckpoint } from '../core/checkpoint/file';
import type { EvalOutcome } from '../core/engine';
import { TrainError } from '../core/errors';
import { readRunRecord } from '../core/runs/record';
import { engineFor } from '.';

export interface CheckpointEvaluation extends EvalOutcome {
  readonly config: RpgConfig;
  readonly step: number;
}

/** `target`: a run folder or a checkpoint.bin. */
export async function evaluateCheckpoint(target: string, backend?: BackendName): Promise<CheckpointEvaluation> {
  const file = checkpointPathOf(target);
  const checkpoint = readCheckpoint(file);
  let config: RpgConfig;
  try {
    config = validateConfig(checkpoint.meta.config);
  } catch (err) {
    throw new TrainError('checkpoint', `checkpoint ${file} holds a config this version cannot use (${(err as Error).message})`, undefined, file);
  }
  // Relative dataset paths resolve against the config the run was started from.
  const configPath = readRunRecord(path.dirname(file))?.configPath;
  const r = await engineFor(config.train.engine).evaluate({ config, ...(configPath ? { configPath } : {}), ...(backend ? { backend } : {}), checkpoint, file });
  return { ...r, config, step: checkpoint.meta.step };
}
