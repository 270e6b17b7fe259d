// One writer per run folder. The process that trains a run holds `run.lock` (its pid, host and
// start time, created with O_EXCL so two processes can never both create it). A second writer
// is refused with a message naming the owner; a lock left by a process that died on this host
// is taken over, and the caller is told so.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { LOCK_FILE } from './layout';
import * as path from 'node:path';
import { processAlive } from './record';

export interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
}

/** The run is being written by another live process (or one on another host). */
export class RunLockedError extends Error {
  constructor(
    readonly runDir: string,
    readonly owner: LockOwner | undefined,
  ) {
    super(
      owner
        ? `run ${runDir} is being trained by process ${owner.pid} on ${owner.hostname === hostname() ? 'this machine' : `host ${owner.hostname}`} since ${owner.startedAt}; stop it there first${owner.hostname === hostname() ? '' : ` (or, if that process is gone, delete ${path.join(runDir, LOCK_FILE)})`}`
        : `run ${runDir} is locked by another process (${path.join(runDir, LOCK_FILE)} is unreadable); if no process trains it, delete that file`,
    );
    this.name = 'RunLockedError';
  }
}

export interface RunLock {
  readonly file: string;
  /** Set when a stale lock of a dead process was taken over. */
  readonly tookOverFrom?: LockOwner;
  release(): void;
}

/** Takes the run's lock or throws RunLockedError. */
export function acquireRunLock(runDir: string): RunLock {
  const file = path.join(runDir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  let tookOverFrom: LockOwner | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(file, me)) return lockHandle(file, me, tookOverFrom);
    const owner = readLockOwner(runDir);
    if (owner && owner.pid === process.pid && owner.hostname === me.hostname) {
      // This process holds it already (a run resumed twice in one trainer is refused earlier).
      throw new RunLockedError(runDir, owner);
    }
    if (!owner || ownerAlive(owner) !== false) throw new RunLockedError(runDir, owner);
    // The owner died on this host: the lock is stale. Remove it and try once more (another
    // process may win that race; it then holds the lock and we report it).
    tookOverFrom = owner;
    try {
      unlinkSync(file);
    } catch {
      // Someone else took it over first; the next attempt tells.
    }
  }
  throw new RunLockedError(runDir, readLockOwner(runDir));
}

/** Who holds the run's lock, if anyone; undefined when there is no (readable) lock. */
export function readLockOwner(runDir: string): LockOwner | undefined {
  try {
    const raw = JSON.parse(readFileSync(path.join(runDir, LOCK_FILE), 'utf8')) as Partial<LockOwner>;
    if (typeof raw.pid === 'number' && typeof raw.hostname === 'string') return { pid: raw.pid, hostname: raw.hostname, startedAt: String(raw.startedAt ?? '?') };
  } catch {
    // Missing or half-written: no owner to name.
  }
  return undefined;
}

/** true: the lock's process runs; false: it died (stale lock); undefined: another host's, unknown. */
export function ownerAlive(owner: LockOwner): boolean | undefined {
  if (owner.hostname !== hostname()) return undefined;
  return processAlive(owner.pid);
}

function tryCreate(file: string, me: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(me) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}

function lockHandle(file: string, me: LockOwner, tookOverFrom: LockOwner | undefined): RunLock {
  let released = false;
  return {
    file,
    ...(tookOverFrom ? { tookOverFrom } : {}),
    release() {
      if (released) return;
      released = true;
      // Only our own lock: never remove one another process took over meanwhile.
      try {
        const now = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
        if (now.pid === me.pid && now.hostname === me.hostname && now.startedAt === me.startedAt) unlinkSync(file);
      } catch {
        // Gone already.
      }
    },
  };
}
