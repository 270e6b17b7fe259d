// Whether a folder can hold runs, decided before anything trains: a runs folder that is a
// file, sits on a read-only or special file system (/proc, /sys) or cannot be written is a
// clear error naming the folder — never an ENOTDIR deep in a write, or a scan that hangs.
import { accessSync, constants, statfsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidInputError } from '../errors';

/** statfs magic numbers of kernel file systems that never hold user files. */
const SPECIAL_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x6e736673, 'nsfs'],
  [0xcafe4a11, 'bpf'],
]);

/** The kernel file system `dir` is on (proc, sysfs, …), if it is one that never holds user files. */
export function specialFileSystem(dir: string): string | undefined {
  try {
    return SPECIAL_FS.get(Number(statfsSync(dir).type));
  } catch {
    return undefined;
  }
}

/** Throws InvalidInputError (field `field`) unless `runsDir` exists or can be created, and can be written. */
export function checkRunsFolder(runsDir: string, field = 'runsDir'): string {
  const dir = path.resolve(runsDir);
  const fail = (why: string) => new InvalidInputError(`runs folder ${dir}: ${why}`, field);
  // The nearest part of the path that exists decides: the rest will be created under it.
  let existing = dir;
  for (;;) {
    try {
      const st = statSync(existing);
      if (!st.isDirectory()) throw fail(existing === dir ? 'is a file, not a folder' : `${existing} is a file, so the folder cannot be created under it`);
      break;
    } catch (err) {
      if (err instanceof InvalidInputError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw fail('a part of the path is a file, not a folder');
      if (code !== 'ENOENT') throw fail(`cannot be read (${code ?? String(err)})`);
      const parent = path.dirname(existing);
      if (parent === existing) throw fail('no part of the path exists');
      existing = parent;
    }
  }
  const kind = specialFileSystem(existing);
  if (kind) throw fail(`${existing} is on the kernel's ${kind} file system, which cannot hold runs`);
  try {
    accessSync(existing, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(code === 'EROFS' ? `${existing} is on a read-only file system` : `${existing} is not writable (${code ?? 'no permission'})`);
  }
  return dir;
}
