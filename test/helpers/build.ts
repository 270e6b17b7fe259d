// One way for tests to get the bundles they spawn: rebuild dist/ when a bundle is missing or
// older than any source file (a bundle inlines src/core, src/engines, ... not only its
// own folder), so no test ever runs a stale trainer, server or CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '../..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The path of dist/<bundle>.js, built first when missing or stale. */
export function ensureBuilt(bundle: 'cli' | 'server' | 'trainer' | 'layer-weights-worker'): string {
  const file = path.join(REPO, 'dist', `${bundle}.js`);
  if (existsSync(file) && statSync(file).mtimeMs >= newestMtime(path.join(REPO, 'src'))) return file;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(file)) throw new Error(`building dist/${bundle}.js failed:\n${r.stderr}`);
  return file;
}
