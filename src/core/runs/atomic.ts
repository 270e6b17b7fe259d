// Atomic file replacement: readers see either the old or the new content, never a mix, and a
// write that fails (a full disk, a read-only file system) never replaces the old file. Every
// file of a run folder that is rewritten in place (run.json, checkpoint.bin, sweep.json) goes
// through here.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';

/** Errors of the file system that mean "no room" or "no permission", not a bug. */
const STORAGE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EFBIG', 'EIO']);

/** A write that could not complete; the previous content of `file` is intact. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/** The temp file a writer uses for `file`: same folder (so the rename is atomic), tagged with its pid. */
export function tempFileFor(file: string, pid = process.pid): string {
  return `${file}.tmp-${pid}`;
}

/**
 * Writes `bytes` to `file` so that readers see either the old or the new content: a temp file
 * in the same folder, every byte written (writeSync may write fewer than asked), fsync, rename,
 * fsync of the folder. On failure the temp file is removed and a StorageError names the folder
 * and, for a full disk, the space needed.
 */
export function writeFileAtomic(file: string, bytes: Buffer | string): void {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const tmp = tempFileFor(file);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    let written = 0;
    while (written < data.length) {
      const n = writeSync(fd, data, written, data.length - written);
      // A zero-byte write would loop forever; the file system is refusing more data.
      if (n <= 0) throw Object.assign(new Error('the file system accepted no more bytes'), { code: 'ENOSPC' });
      written += n;
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Already failing; the original error says more.
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // It may never have been created.
    }
    throw storageError(err, file, data.length);
  }
  syncFolder(path.dirname(file));
}

/** Flushes a folder's entries (the rename) to disk; some file systems refuse, which is harmless. */
function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // The rename is still atomic; only its durability across a power loss is weaker.
  }
}

/** A file-system error as a StorageError that says what to do; anything else unchanged. */
export function storageError(err: unknown, file: string, bytesNeeded?: number): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (!code || !STORAGE_CODES.has(code)) return err;
  const dir = path.dirname(file);
  const why: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is exhausted',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EFBIG: 'the file is too large for this file system',
    EIO: 'an input/output error occurred',
  };
  let need = '';
  if ((code === 'ENOSPC' || code === 'EDQUOT') && bytesNeeded !== undefined) {
    const free = freeBytes(dir);
    need = `; it needs ${formatBytes(bytesNeeded)}${free !== undefined ? `, ${formatBytes(free)} is free` : ''}`;
  }
  return new StorageError(`cannot write ${path.basename(file)} in ${dir}: ${why[code] ?? code}${need}`, file, code);
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Removes temp files (`<name>.tmp-<pid>`) that killed writers left in `dir`. */
export function removeStaleTempFiles(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!/\.tmp-\d+$/.test(name)) continue;
    try {
      unlinkSync(path.join(dir, name));
      removed.push(name);
    } catch {
      // Someone else removed it, or it is not ours to remove; harmless.
    }
  }
  return removed;
}
