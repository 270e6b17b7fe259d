// Which Python runs the torch engine, and where its package (python/rpg_torch) is. The
// interpreter is RPG_PYTHON when set (the trainer sets it from the extension's rpg.python
// setting or the Python extension's active interpreter; the CLI from --python), else `python3`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { TrainError } from '../../core/errors';

export function pythonExecutable(): string {
  return process.env.RPG_PYTHON?.trim() || 'python3';
}

/** The folder holding rpg_torch/: python/ next to dist/ (bundles) or at the repository root (sources). */
export function pythonPackageRoot(): string {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'python');
    if (existsSync(path.join(candidate, 'rpg_torch', '__init__.py'))) return candidate;
  }
  throw new TrainError('backend', `the torch engine's Python package (python/rpg_torch) is not next to ${__dirname}: reinstall RPG Studio`, 'train.engine');
}

/** The environment a torch-engine child runs in: our package first on PYTHONPATH, unbuffered output. */
export function pythonEnv(): NodeJS.ProcessEnv {
  const root = pythonPackageRoot();
  const existing = process.env.PYTHONPATH;
  return { ...process.env, PYTHONPATH: existing ? `${root}${path.delimiter}${existing}` : root, PYTHONUNBUFFERED: '1' };
}

/**
 * A failure to start or run Python as a one-line fix: no interpreter, no torch, torch too old.
 * `stderr` is what the child printed; undefined when it could not be started at all.
 */
export function pythonProblem(python: string, spawnError: NodeJS.ErrnoException | undefined, stderr: string): TrainError | undefined {
  const fix = 'set rpg.python (VS Code), --python or RPG_PYTHON to an interpreter that has it';
  if (spawnError) {
    const what = spawnError.code === 'ENOENT' ? `no Python interpreter "${python}" was found` : `Python "${python}" could not be started (${spawnError.code ?? spawnError.message})`;
    return new TrainError('backend', `${what}: the torch engine needs Python 3 with PyTorch ≥ 1.13 (pip install torch); ${fix}`, 'train.engine');
  }
  if (/No module named ['"]?torch['"]?/.test(stderr)) {
    return new TrainError('backend', `${python} cannot import torch: install PyTorch ≥ 1.13 for it (pip install torch, or Debian's python3-torch), or ${fix}`, 'train.engine');
  }
  if (/No module named ['"]?rpg_torch/.test(stderr)) {
    return new TrainError('backend', `${python} cannot import rpg_torch from ${pythonPackageRoot()}: reinstall RPG Studio`, 'train.engine');
  }
  return undefined;
}

/** Runs `python -m rpg_torch ARGS` to its end; its stdout, or the problem as a TrainError. */
export function runPython(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  const python = pythonExecutable();
  return new Promise((resolve, reject) => {
    let env: NodeJS.ProcessEnv;
    try {
      env = pythonEnv();
    } catch (err) {
      reject(err);
      return;
    }
    const child = spawn(python, ['-m', 'rpg_torch', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(pythonProblem(python, e, ''));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve(out);
      reject(pythonProblem(python, undefined, err) ?? new TrainError('backend', `${python} -m rpg_torch ${args[0]} failed (exit ${code}): ${lastLine(err) || 'no output'}`, 'train.engine'));
    });
  });
}

export function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => l.trim()).pop()?.trim() ?? '';
}
