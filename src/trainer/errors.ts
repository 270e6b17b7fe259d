// Every failure the trainer reports names a cause the user can act on: a config field, a
// file, or (for bugs) the fact that it is internal. One mapping from the error classes of
// config/data/plan/engine to the protocol's {code, message, field, file}, used both for
// request errors and for train/failed.
import { ResponseError } from 'vscode-jsonrpc';
import { ConfigError } from '../config/load';
import { DatasetError } from '../data/types';
import { ShapeError } from '../models/shapes';
import { REQUEST_FAILED, TrainerErrorData } from '../protocol';
import { PlanError } from '../rpg/plan';
import { TrainError } from '../train/types';

export interface Failure extends TrainerErrorData {
  readonly message: string;
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
  if (err instanceof TrainError) return { code: err.code, message: err.message, field: err.field, file: err.file };
  if (err instanceof Error) return { code: 'internal', message: err.message || err.name, stack: err.stack };
  return { code: 'internal', message: String(err) };
}

/** A JSON-RPC error response carrying the structured failure in `data`. */
export function toResponseError(err: unknown): ResponseError<TrainerErrorData> {
  if (err instanceof ResponseError) return err as ResponseError<TrainerErrorData>;
  const failure = describeFailure(err);
  return new ResponseError<TrainerErrorData>(REQUEST_FAILED, failure.message, withoutUndefined({ code: failure.code, field: failure.field, file: failure.file }));
}

/** A request error for bad parameters (no config involved). */
export function invalidParams(message: string, field?: string): ResponseError<TrainerErrorData> {
  return new ResponseError<TrainerErrorData>(REQUEST_FAILED, message, withoutUndefined<TrainerErrorData>({ code: 'protocol', field }));
}

/** JSON-RPC drops nothing, but `undefined` members make noisy payloads and test diffs. */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
