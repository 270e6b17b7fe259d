// The command line's arguments: parsing, typed flag readers, the usage text and the one error
// class for misuse. Every subcommand reads its flags through these.
import * as path from 'node:path';
import { loadConfigFile } from '../core/config/load';
import { BACKENDS, BackendName, EngineName, ENGINES } from '../core/config/schema';

export interface ParsedArgs {
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const next = argv[i + 1];
      if (inline !== undefined) flags.set(key, inline);
      else if (next !== undefined && !next.startsWith('--') && !BOOLEAN_FLAGS.has(key)) {
        flags.set(key, next);
        i++;
      } else flags.set(key, true);
    } else positional.push(a);
  }
  return { positional, flags };
}

const BOOLEAN_FLAGS = new Set(['json', 'quiet', 'help', 'plain', 'no-plain']);

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function backendFlag(args: ParsedArgs): BackendName | undefined {
  const b = flagString(args, 'backend');
  if (b === undefined) return undefined;
  if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got "${b}"`);
  return b as BackendName;
}

export function engineFlag(args: ParsedArgs): EngineName | undefined {
  const e = flagString(args, 'engine');
  if (e === undefined) return undefined;
  if (!(ENGINES as readonly string[]).includes(e)) throw new UsageError(`--engine must be one of ${ENGINES.join(', ')}, got "${e}"`);
  return e as EngineName;
}

/** --python: the interpreter of the torch engine (else RPG_PYTHON, else python3). */
export function applyPythonFlag(args: ParsedArgs): void {
  const p = flagString(args, 'python');
  if (p !== undefined) process.env.RPG_PYTHON = p;
}

export class UsageError extends Error {}

export const USAGE = `usage: rpg <command> [options]

commands:
  train CONFIG [--engine tfjs|torch] [--backend B] [--runs DIR] [--python PY]
                      train an experiment (.rpg.json); Ctrl-C stops and saves a checkpoint;
                      backends: tfjs auto|tensorflow|webgpu|wasm|cpu, torch auto|cuda|mps|cpu
  train --resume RUN [--backend B]
                      continue a stopped or failed run from its checkpoint (the config in its run.json)
  plan CONFIG [--json]  print the ring-to-layer table and DoF totals
  eval RUN|FILE.rpgz [--backend B]
                      evaluate a run's checkpoint on its test split
  info [--python PY]  engines, backends, devices, threads, versions (tfjs, and PyTorch through Python)
  data download NAME [--dest DIR]
                      fetch mnist | fashion-mnist | cifar10 | cifar100 and verify checksums
  sweep CONFIG [--dof 100,300,1000,3000,10000] [--repeats N] [--baselines] [--target 0.95]
        [--epochs N] [--backend B] [--runs DIR]
                      train the plain model and each ring size M, fit accuracy ≈ a + b·ln(M),
                      write <runs>/<name>-sweep/<id>/sweep.json and sweep.svg
  compress RUN [--prune 0.5] [--bits 8] [--block 256] [--finetune STEPS] [--lr LR]
        [--free-bits 32|16] [--out FILE.rpgz]
                      prune + quantize an RPG run's ring into a .rpgz (eval FILE.rpgz loads it)
  export RUN|FILE.rpgz [--format tfjs|rpgz] [--out DIR]
                      the generated model as a TensorFlow.js Layers model (model.json + weights.bin)
  export RUN|CONFIG --format torchrun --out DIR
                      a folder that trains (or continues) the run with torchrun on any cluster`;

export function loadConfigOrThrow(file: string | undefined) {
  if (!file) throw new UsageError('missing CONFIG (a .rpg.json file)');
  return loadConfigFile(path.resolve(file));
}
