// Errors with a cause a user can act on, and the one mapping from every error class of the
// core (config, data, plan, shapes, training) to {code, message, field, file}: the CLI prints it,
// the trainer sends it as a request error or train/failed, the extension shows it.
import { ConfigError } from './config/load';
import { DatasetError } from './data/types';
import { ShapeError } from './models/shapes';
import { PlanError } from './rpg/plan';
import { UnreadableFileError } from './files';
import { StorageError } from './runs/atomic';
import { RunLockedError } from './runs/lock';

export type TrainErrorCode = 'config' | 'dataset' | 'plan' | 'shape' | 'backend' | 'nan' | 'gpu' | 'checkpoint' | 'storage' | 'locked' | 'internal';

/** A failure with a cause a user can act on: the field or file at fault. */
export class TrainError extends Error {
  constructor(
    readonly code: TrainErrorCode,
    message: string,
    readonly field?: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'TrainError';
  }
}

/** Bad parameters of a request or command (no config involved): `field` names the parameter. */
export class InvalidInputError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

export type FailureCode = TrainErrorCode | 'protocol';

export interface Failure {
  readonly code: FailureCode;
  readonly message: string;
  /** The config field at fault, as a dotted path ("train.lr"). */
  readonly field?: string;
  /** The file at fault (config, dataset or checkpoint file). */
  readonly file?: string;
  /** Internal errors only: where it happened, for the log (never shown as the message). */
  readonly stack?: string;
}

export function describeFailure(err: unknown): Failure {
  if (err instanceof ConfigError) return { code: 'config', message: err.message, field: err.field, file: err.file };
  if (err instanceof PlanError) return { code: 'plan', message: err.message, field: err.field };
  if (err instanceof ShapeError) return { code: 'shape', message: err.message, field: 'model' };
  if (err instanceof DatasetError) {
    // Loaders use `file` for a config field ("data.path") when no file is involved yet; a real
    // file or folder at fault is found through data.path.
    return /^data(\.|$)/.test(err.file) ? { code: 'dataset', message: err.message, field: err.file } : { code: 'dataset', message: err.message, file: err.file, field: 'data.path' };
  }
  if (err instanceof InvalidInputError) return { code: 'protocol', message: err.message, field: err.field };
  // A full or read-only disk: the run stops with its last good checkpoint.
  if (err instanceof StorageError) return { code: 'storage', message: err.message, file: err.file };
  if (err instanceof RunLockedError) return { code: 'locked', message: err.message, field: 'resumeFrom', file: err.runDir };
  if (err instanceof UnreadableFileError) return { code: 'config', message: err.message, file: err.file };
  if (err instanceof TrainError) return { code: err.code, message: err.message, field: err.field, file: err.file };
  if (err instanceof Error) return { code: 'internal', message: err.message || err.name, stack: err.stack };
  return { code: 'internal', message: String(err) };
}
