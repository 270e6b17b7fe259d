// The trainer's stdout belongs to JSON-RPC alone. Anything else that writes to it (tfjs prints
// backend banners with console.log) would corrupt the stream, so at startup we keep a private
// handle on the real stdout for the protocol writer and point console and process.stdout at
// stderr. Every log line carries a timestamp: the client shows stderr in an output channel.
import { format } from 'node:util';

export type LogLevel = 'info' | 'warn' | 'error';

export function log(level: LogLevel, message: string): void {
  process.stderr.write(`${new Date().toISOString()} [${level}] ${message}\n`);
}

export const info = (message: string): void => log('info', message);
export const warn = (message: string): void => log('warn', message);
export const error = (message: string): void => log('error', message);

/** Writes bytes to the real stdout; the callback reports the outcome (EPIPE once the client is gone). */
export type ProtocolOutput = (bytes: Buffer, callback: (err?: Error | null) => void) => void;

/**
 * Reserves stdout for the protocol. Returns a function that writes to the real stdout; after
 * this call console.* and process.stdout.write go to stderr (as timestamped "console" lines).
 */
export function reserveStdoutForProtocol(): ProtocolOutput {
  const stdout = process.stdout;
  const realWrite = stdout.write.bind(stdout) as (chunk: Uint8Array, callback: (err?: Error | null) => void) => boolean;
  // A closed pipe (the client died) is reported through the write callbacks; never crash here.
  stdout.on('error', () => undefined);

  const toStderr = (level: string) => (...args: unknown[]) => process.stderr.write(`${new Date().toISOString()} [${level}] ${format(...args)}\n`);
  console.log = toStderr('console');
  console.info = toStderr('console');
  console.debug = toStderr('console');
  console.warn = toStderr('console.warn');
  // console.error already writes to stderr; keep the timestamp consistent.
  console.error = toStderr('console.error');
  (stdout as { write: unknown }).write = (chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const cb = typeof encoding === 'function' ? encoding : callback;
    process.stderr.write(typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : String(chunk));
    if (typeof cb === 'function') queueMicrotask(() => (cb as () => void)());
    return true;
  };
  return (bytes, callback) => {
    realWrite(bytes, callback);
  };
}
