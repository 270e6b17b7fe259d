// Which config a run belongs to. A run records its config's absolute path, which is wrong as
// soon as the workspace is copied, moved or opened from another mount; so a run is tied to a
// config by, in order: that absolute path; the path relative to the run folder (configRelPath,
// which a copy keeps intact); and finally the folder the runs are filed under, named after the
// config's `name` (`<runs>/<name>/<run id>`, sweeps under `<runs>/<name>-sweep/`), which covers
// records written before configRelPath existed. Pure: no vscode, no disk.
import * as path from 'node:path';
import { experimentFolderName } from '../core/runs/layout';

export interface OwnerConfig {
  /** The config's `name` (else its file name): what its runs are filed under. */
  readonly name: string;
  readonly runsDir: string;
}

export interface OwnedRun {
  readonly dir: string;
  readonly configPath?: string;
  readonly configRelPath?: string;
}

/** The owner of each run that has one; `fileOf` gives a config's absolute path. */
export function runOwners<R extends OwnedRun, C extends OwnerConfig>(runs: readonly R[], configs: readonly C[], fileOf: (c: C) => string): Map<R, C> {
  const byFile = new Map(configs.map((c) => [path.resolve(fileOf(c)), c]));
  const out = new Map<R, C>();
  for (const run of runs) {
    const owner =
      (run.configPath && byFile.get(path.resolve(run.configPath))) ||
      (run.dir && run.configRelPath && byFile.get(path.resolve(run.dir, run.configRelPath))) ||
      (run.dir ? byFolder(run, configs, fileOf) : undefined);
    if (owner) out.set(run, owner);
  }
  return out;
}

/**
 * The config whose runs folder files this run by name. When several configs share a name, the
 * one whose file name matches the recorded path's wins (a copy keeps file names), else none:
 * guessing between them would show a run under the wrong experiment.
 */
function byFolder<C extends OwnerConfig>(run: OwnedRun, configs: readonly C[], fileOf: (c: C) => string): C | undefined {
  const dir = path.resolve(run.dir);
  const matches = configs.filter((c) => {
    const folder = path.join(path.resolve(c.runsDir), experimentFolderName(c.name));
    return isInside(dir, folder) || isInside(dir, `${folder}-sweep`);
  });
  if (matches.length <= 1) return matches[0];
  const base = run.configPath ? path.basename(run.configPath) : undefined;
  const same = matches.filter((c) => base !== undefined && path.basename(fileOf(c)) === base);
  return same.length === 1 ? same[0] : undefined;
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return !!rel && !rel.startsWith('..') && !path.isAbsolute(rel);
}
