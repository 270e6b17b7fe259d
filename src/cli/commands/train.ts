// `rpg train CONFIG [--resume RUN] [--backend B] [--runs DIR]`: trains with a progress bar;
// Ctrl-C finishes the step, saves a checkpoint and exits.
import * as path from 'node:path';
import { train, readRunRecord } from '../../engines/tfjs/run';
import { validateConfig } from '../../core/config/load';
import type { TrainRow } from '../../core/train/rows';
import { backendFlag, flagString, loadConfigOrThrow, ParsedArgs, UsageError } from '../args';
import { fmtDuration, progressBar } from '../format';
import { count, percent } from '../../core/format/numbers';

const out = (s: string) => process.stdout.write(s + '\n');

export async function trainCommand(args: ParsedArgs): Promise<number> {
  const resume = flagString(args, 'resume');
  const configFile = args.positional[0];
  if (!configFile && !resume) throw new UsageError('train needs CONFIG or --resume RUN');
  const config = configFile ? loadConfigOrThrow(configFile) : undefined;
  const runsDir = path.resolve(flagString(args, 'runs') ?? (configFile ? path.join(path.dirname(path.resolve(configFile)), 'runs') : 'runs'));
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nstopping after this step and saving a checkpoint (Ctrl-C again to quit at once)\n');
      controller.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const tty = process.stdout.isTTY === true && !args.flags.has('plain');
  let lastLine = 0;
  let totalSteps = 0;
  let lastEval = '';
  const render = (r: TrainRow) => {
    const text = `epoch ${r.epoch.toFixed(2)} ${progressBar(r.progress)} ${percent(r.progress, 0)} step ${r.step}/${totalSteps} loss ${r.loss.toFixed(4)} acc ${percent(r.acc)} ${count(r.samplesPerSec)} samples/s ETA ${fmtDuration(r.etaSeconds)}${lastEval}`;
    if (tty) process.stdout.write(`\r${text}\x1b[K`);
    else if (Date.now() - lastLine > 10_000 || r.step === totalSteps) {
      out(text);
      lastLine = Date.now();
    }
  };
  try {
    const result = await train(
      { config: config ?? (readRunRecord(resume!)?.config ?? validateConfig({ model: { arch: 'mlp' } })), ...(configFile ? { configPath: path.resolve(configFile) } : {}), runsDir, ...(resume ? { resumeFrom: path.resolve(resume) } : {}), ...(backendFlag(args) ? { backend: backendFlag(args)! } : {}), signal: controller.signal },
      {
        onStart: (s) => {
          totalSteps = s.totalSteps;
          const sm = s.summary;
          out(`${s.resumed ? 'resuming' : 'training'} ${sm.arch}: ${count(sm.totalParams)} parameters, DoF ${count(sm.dof)} (ring ${count(sm.ringSize)} + free ${count(sm.freeParams)}), ${sm.compression.toFixed(1)}× compression`);
          out(`backend ${s.backend}; ${s.totalSteps} steps (${s.stepsPerEpoch}/epoch)${s.resumed ? ` from step ${s.startStep}` : ''}; run folder ${s.runDir}`);
        },
        onTrainRow: render,
        onEval: (e) => {
          lastEval = ` | test ${percent(e.acc)}`;
          if (tty) process.stdout.write('\n');
          out(`  eval at epoch ${e.epoch.toFixed(2)}: test loss ${e.loss.toFixed(4)}, test accuracy ${percent(e.acc, 2)}`);
        },
        onLog: (m) => process.stderr.write(`${m}\n`),
      },
    );
    if (tty) process.stdout.write('\n');
    out(`${result.status} after ${result.steps} steps in ${fmtDuration(result.durationSec)}; best ${percent(result.bestAcc, 2)}; checkpoint ${result.checkpoint}`);
    out(`test accuracy: ${(result.finalAcc * 100).toFixed(1)}%`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
