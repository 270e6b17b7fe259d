// Reading files that come from users or other processes without trusting them: only regular
// files, only up to a size, never blocking. A FIFO, a device such as /dev/zero or a
// multi-gigabyte file named as a config or checkpoint must be a clear error, not a hang or an
// exhausted heap.
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';

export class UnreadableFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'UnreadableFileError';
  }
}

/**
 * The bytes of `file`, a regular file of at most `maxBytes`. Throws UnreadableFileError for a
 * missing file, a folder, a FIFO, a device or a file that is too large; nothing blocks (the
 * file is stat'ed before it is opened, and opened non-blocking).
 */
export function readBoundedFile(file: string, maxBytes: number): Buffer {
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new UnreadableFileError(file, 'is a folder, not a file');
    if (!st.isFile()) throw new UnreadableFileError(file, 'is not a regular file (a device, FIFO or socket)');
    size = st.size;
  } catch (err) {
    if (err instanceof UnreadableFileError) throw err;
    throw new UnreadableFileError(file, describeFsError(err));
  }
  if (size > maxBytes) throw new UnreadableFileError(file, `is ${size.toLocaleString('en-US')} bytes, more than the ${maxBytes.toLocaleString('en-US')} allowed`);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new UnreadableFileError(file, describeFsError(err));
  }
  try {
    // Re-checked on the open file: it may have been replaced between stat and open.
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnreadableFileError(file, 'is not a regular file (a device, FIFO or socket)');
    if (st.size > maxBytes) throw new UnreadableFileError(file, `is ${st.size.toLocaleString('en-US')} bytes, more than the ${maxBytes.toLocaleString('en-US')} allowed`);
    const buf = Buffer.alloc(st.size);
    let read = 0;
    while (read < st.size) {
      const n = readSync(fd, buf, read, st.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return read === st.size ? buf : buf.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'ELOOP':
      return 'has too many symbolic links';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    default:
      return code ? `cannot be read (${code})` : String((err as Error)?.message ?? err);
  }
}
