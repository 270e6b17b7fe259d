// `rpg eval RUN|CHECKPOINT|FILE.rpgz`: a run's checkpoint (or a compressed file) on its test
// split. The checkpoint is verified (checksum, then plan) before a number is printed.
import * as path from 'node:path';
import { validateConfig } from '../../core/config/load';
import { checkpointPathOf, readCheckpoint } from '../../core/checkpoint/file';
import { TrainError } from '../../core/errors';
import { readRunRecord } from '../../core/runs/record';
import { engineFor } from '../../engines';
import { backendFlag, ParsedArgs, UsageError } from '../args';
import { evalRpgzCommand } from './compress';

const out = (s: string) => process.stdout.write(s + '\n');

export async function evalCommand(args: ParsedArgs): Promise<number> {
  const target = args.positional[0];
  if (!target) throw new UsageError('eval needs RUN (a run folder), a checkpoint.bin or a .rpgz file');
  if (target.endsWith('.rpgz')) return evalRpgzCommand(args);
  const file = checkpointPathOf(path.resolve(target));
  const checkpoint = readCheckpoint(file);
  let config;
  try {
    config = validateConfig(checkpoint.meta.config);
  } catch (err) {
    throw new TrainError('checkpoint', `checkpoint ${file} holds a config this version cannot use (${(err as Error).message})`, undefined, file);
  }
  // Relative dataset paths resolve against the config the run was started from.
  const configPath = readRunRecord(path.dirname(file))?.configPath;
  const backend = backendFlag(args);
  const r = await engineFor(config.train.engine).evaluate({ config, ...(configPath ? { configPath } : {}), ...(backend ? { backend } : {}), checkpoint, file });
  out(`${config.name ?? 'experiment'}: step ${checkpoint.meta.step}, backend ${r.backend}, ${r.examples} test examples of ${r.dataset}`);
  out(`test loss: ${r.loss.toFixed(4)}`);
  out(`test accuracy: ${(r.acc * 100).toFixed(2)}%`);
  return 0;
}
