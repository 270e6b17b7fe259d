// Failures on the wire: the core's Failure (src/core/errors.ts) as a JSON-RPC error response,
// used by the trainer's request handlers and by the extension's in-process planning.
import { ResponseError } from 'vscode-jsonrpc';
import { describeFailure } from '../core/errors';
import { REQUEST_FAILED, TrainerErrorData } from './index';

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
