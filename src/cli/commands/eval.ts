// `rpg eval RUN|CHECKPOINT|FILE.rpgz`: a run's checkpoint (or a compressed file) on its test
// split. The checkpoint is verified (checksum, then plan) before a number is printed.
import * as path from 'node:path';
import { evaluateCheckpoint } from '../../engines/evaluate-checkpoint';
import { backendFlag, ParsedArgs, UsageError } from '../args';
import { evalRpgzCommand } from './compress';

const out = (s: string) => process.stdout.write(s + '\n');

export async function evalCommand(args: ParsedArgs): Promise<number> {
  const target = args.positional[0];
  if (!target) throw new UsageError('eval needs RUN (a run folder), a checkpoint.bin or a .rpgz file');
  if (target.endsWith('.rpgz')) return evalRpgzCommand(args);
  const r = await evaluateCheckpoint(path.resolve(target), backendFlag(args));
  out(`${r.config.name ?? 'experiment'}: step ${r.step}, backend ${r.backend}, ${r.examples} test examples of ${r.dataset}`);
  out(`test loss: ${r.loss.toFixed(4)}`);
  out(`test accuracy: ${(r.acc * 100).toFixed(2)}%`);
  return 0;
}
