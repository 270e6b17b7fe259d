// `rpg eval RUN|FILE.rpgz`: a run's checkpoint (or a compressed file) on its test split.
import * as path from 'node:path';
import { readRunRecord } from '../../engines/tfjs/run';
import { openSession, evaluate, restoreTensors } from '../../engines/tfjs/session';
import { readCheckpoint } from '../../core/checkpoint/file';
import { validateConfig } from '../../core/config/load';
import { backendFlag, ParsedArgs, UsageError } from '../args';
import { evalRpgzCommand } from './compress';

const out = (s: string) => process.stdout.write(s + '\n');

export async function evalCommand(args: ParsedArgs): Promise<number> {
  const runDir = args.positional[0];
  if (!runDir) throw new UsageError('eval needs RUN (a run folder)');
  if (runDir.endsWith('.rpgz')) return evalRpgzCommand(args);
  const ckpt = readCheckpoint(path.resolve(runDir));
  const config = validateConfig(ckpt.meta.config);
  const record = readRunRecord(path.resolve(runDir));
  const session = await openSession(config, record?.configPath, backendFlag(args));
  restoreTensors(session.net.state(), ckpt, path.join(runDir, 'checkpoint.bin'));
  const r = evaluate(session.net, session.dataset, 'test');
  out(`${config.name}: step ${ckpt.meta.step}, backend ${session.backend.name}, ${session.dataset.test.count} test examples`);
  out(`test loss: ${r.loss.toFixed(4)}`);
  out(`test accuracy: ${(r.acc * 100).toFixed(2)}%`);
  session.net.dispose();
  return 0;
}
