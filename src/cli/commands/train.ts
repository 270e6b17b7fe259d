// `rpg train CONFIG [--resume RUN] [--backend B] [--runs DIR]`: trains with a progress bar;
// Ctrl-C finishes the step, saves a checkpoint and exits.
import * as path from 'node:path';
import { ConfigError, engineBackendIssue } from '../../core/config/load';
import type { EngineName, RpgConfig } from '../../core/config/schema';
import type { TrainEvents } from '../../core/engine';
import { resumeRun, trainRun } from '../../core/runs/train-run';
import { engineFor } from '../../engines';
import { checkRunsFolder } from '../../core/runs/check-folder';
import type { TrainRow } from '../../core/train/rows';
import { applyPythonFlag, backendFlag, engineFlag, flagString, loadConfigOrThrow, ParsedArgs, UsageError } from '../args';
import { fmtDuration, progressBar } from '../format';
import { count, percent } from '../../core/format/numbers';

const out = (s: string) => process.stdout.write(s + '\n');

export async function trainCommand(args: ParsedArgs): Promise<number> {
  const resume = flagString(args, 'resume');
  const configFile = args.positional[0];
  if (!configFile && !resume) throw new UsageError('train needs CONFIG or --resume RUN');
  if (configFile && resume) throw new UsageError('train takes CONFIG or --resume RUN, not both (a resumed run trains the config in its run.json)');
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
  const backend = backendFlag(args);
  const engine = engineFlag(args);
  applyPythonFlag(args);
  if (engine && resume) throw new UsageError('--engine applies to a new run; a resumed run keeps the engine in its run.json');
  const events: TrainEvents = {
    onStart: (s) => {
      totalSteps = s.totalSteps;
      const sm = s.summary;
      out(`${s.resumed ? 'resuming' : 'training'} ${sm.arch}: ${count(sm.totalParams)} parameters, DoF ${count(sm.dof)} (ring ${count(sm.ringSize)} + free ${count(sm.freeParams)}), ${sm.compression.toFixed(1)}× compression`);
      out(`${s.engine} engine, backend ${s.backend}${s.device ? ` on ${s.device}` : ''}; ${s.totalSteps} steps (${s.stepsPerEpoch}/epoch)${s.resumed ? ` from step ${s.startStep}` : ''}; run folder ${s.runDir}`);
    },
    onTrainRow: render,
    onEval: (e) => {
      lastEval = ` | test ${percent(e.acc)}`;
      if (tty) process.stdout.write('\n');
      out(`  eval at epoch ${e.epoch.toFixed(2)}: test loss ${e.loss.toFixed(4)}, test accuracy ${percent(e.acc, 2)}`);
    },
    onLog: (m) => process.stderr.write(`${m}\n`),
  };
  try {
    const result = resume
      ? await resumeRun(engineFor, { runDir: path.resolve(resume), ...(backend ? { backend } : {}), signal: controller.signal }, events)
      : await trainRun(engineFor, { config: withEngine(loadConfigOrThrow(configFile), engine, configFile!), configPath: path.resolve(configFile!), runsDir: runsDirOf(args, configFile!), ...(backend ? { backend } : {}), signal: controller.signal }, events);
    if (tty) process.stdout.write('\n');
    out(`${result.status} after ${result.steps} steps in ${fmtDuration(result.durationSec)}; best ${percent(result.bestAcc, 2)}; checkpoint ${result.checkpoint}`);
    out(`test accuracy: ${(result.finalAcc * 100).toFixed(1)}%`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** --runs, else `runs` next to the config; checked before anything loads (a file, /proc, read-only). */
function runsDirOf(args: ParsedArgs, configFile: string): string {
  const given = flagString(args, 'runs');
  return checkRunsFolder(given ?? path.join(path.dirname(path.resolve(configFile)), 'runs'), given !== undefined ? '--runs' : 'runs');
}

/** The config with --engine applied, checked like the file itself (a backend the engine lacks is refused). */
function withEngine(config: RpgConfig, engine: EngineName | undefined, file: string): RpgConfig {
  if (!engine || engine === config.train.engine) return config;
  const changed = { ...config, train: { ...config.train, engine } };
  const issue = engineBackendIssue(changed);
  if (issue) throw new ConfigError(file, [{ ...issue, message: `${issue.message} (--engine ${engine})` }]);
  return changed;
}
