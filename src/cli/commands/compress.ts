// `rpg compress RUN --prune 0.5 --bits 8 [--block 256] [--finetune 100]` and `rpg eval FILE.rpgz`.
import { backendFlag, flagString, ParsedArgs, UsageError } from '../args';
import { count, percent } from '../../core/format/numbers';
import { evalBatchSize, evaluate } from '../../engines/tfjs/session';
import { compressRun, openRpgz } from '../../compress/index';

const out = (s: string) => process.stdout.write(s + '\n');

function numberFlag(args: ParsedArgs, name: string, fallback: number, check: (n: number) => boolean, what: string): number {
  const v = flagString(args, name);
  if (v === undefined) {
    if (args.flags.has(name)) throw new UsageError(`--${name} needs a value (${what})`);
    return fallback;
  }
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${what}, got "${v}"`);
  return n;
}

export const fmtBytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export async function compressCommand(args: ParsedArgs): Promise<number> {
  const run = args.positional[0];
  if (!run) throw new UsageError('compress needs RUN (a run folder of an RPG run)');
  const prune = numberFlag(args, 'prune', 0, (n) => n >= 0 && n < 1, 'a fraction in [0, 1)');
  const bits = numberFlag(args, 'bits', 8, (n) => Number.isInteger(n) && n >= 2 && n <= 8, 'an integer from 2 to 8 (4 or 8 are usual)');
  const block = args.flags.has('block') ? numberFlag(args, 'block', 0, (n) => Number.isInteger(n) && n >= 1, 'a positive integer (entries per scale)') : undefined;
  const finetune = numberFlag(args, 'finetune', 0, (n) => Number.isInteger(n) && n >= 0, 'a number of steps');
  const lr = args.flags.has('lr') ? numberFlag(args, 'lr', 0, (n) => n > 0, 'a positive learning rate') : undefined;
  const freeBits = numberFlag(args, 'free-bits', 32, (n) => n === 16 || n === 32, '16 or 32') as 16 | 32;
  const backend = backendFlag(args);
  const outFile = flagString(args, 'out');
  const r = await compressRun({
    runDir: run, prune, bits, ...(block ? { block } : {}), finetune, ...(lr ? { finetuneLr: lr } : {}), freeBits, ...(outFile ? { out: outFile } : {}), ...(backend ? { backend } : {}),
    onLog: (m) => out(m),
  });
  out(`pruned ${count(r.ringSize - r.kept)} of ${count(r.ringSize)} ring entries (${percent(1 - r.kept / r.ringSize)}), ${r.bits}-bit codes, ${r.block === r.ringSize ? 'one scale for the ring' : `one scale per ${count(r.block)} entries`}; max quantization error ${r.maxQuantError.toExponential(2)}`);
  out(`test accuracy: before ${percent(r.before.acc, 2)} → pruned ${percent(r.pruned.acc, 2)} → compressed ${percent(r.after.acc, 2)}`);
  out(`file ${r.file}: ${fmtBytes(r.sizes.total)} (header+checksum ${fmtBytes(r.sizes.header)}, mask ${fmtBytes(r.sizes.mask)}, scales ${fmtBytes(r.sizes.scales)}, codes ${fmtBytes(r.sizes.codes)}, free ${fmtBytes(r.sizes.free)})`);
  out(`information carried (bits·kept/8 + free): ${fmtBytes(r.infoBytes)}; float32 ring + free: ${fmtBytes(r.float32Bytes)} (${(r.float32Bytes / r.sizes.total).toFixed(1)}× larger); plain model float32 weights (${count(r.totalParams)} params): ${fmtBytes(r.plainBytes)} (${(r.plainBytes / r.sizes.total).toFixed(1)}× larger)`);
  out(`compressed test accuracy: ${(r.after.acc * 100).toFixed(2)}%`);
  return 0;
}

/** `rpg eval FILE.rpgz`: regenerate the model from the file and evaluate it. */
export async function evalRpgzCommand(args: ParsedArgs): Promise<number> {
  const file = args.positional[0]!;
  const { session, artifact } = await openRpgz(file, backendFlag(args));
  try {
    const r = await evaluate(session.net, session.dataset, 'test', evalBatchSize(session.config));
    out(`${session.config.name}: compressed ring ${count(artifact.ringSize)} entries, ${artifact.bits}-bit, ${percent(1 - artifact.mask.reduce((s, v) => s + v, 0) / artifact.ringSize)} pruned; backend ${session.backend.name}, ${session.dataset.test.count} test examples`);
    out(`test loss: ${r.loss.toFixed(4)}`);
    out(`test accuracy: ${(r.acc * 100).toFixed(2)}%`);
  } finally {
    session.net.dispose();
  }
  return 0;
}
