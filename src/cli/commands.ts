// The CLI's commands, one function each, in a map (the extension's commands mirror them).
import * as path from 'node:path';
import { describeDataset, downloadDataset, DOWNLOADABLE_DATASETS } from '../data';
import type { DatasetInfo, DownloadableDataset } from '../data';
import { DatasetError } from '../data/types';
import { nominalDatasetInfo } from '../data/standard-shapes';
import type { RpgConfig } from '../config/schema';
import { resolveExperiment } from '../config/resolve';
import { materializedHash, materializePlan } from '../rpg/materialize';
import { train, readRunRecord } from '../train/run';
import { openSession, evaluate, restoreTensors } from '../train/session';
import { readCheckpoint } from '../train/checkpoint';
import { selectBackend, tfjsVersion } from '../train/backend';
import { validateConfig } from '../config/load';
import type { TrainRow } from '../train/types';
import { backendFlag, flagString, loadConfigOrThrow, ParsedArgs, UsageError } from './main';
import { fmtDuration, formatPlan, progressBar } from './format';
import { count, percent } from '../format/numbers';
import { sweepCommand } from '../sweep/command';
import { compressCommand, evalRpgzCommand } from '../compress/command';
import { exportCommand } from '../export/command';

export type Command = (args: ParsedArgs) => Promise<number>;

const out = (s: string) => process.stdout.write(s + '\n');

async function trainCommand(args: ParsedArgs): Promise<number> {
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

async function planCommand(args: ParsedArgs): Promise<number> {
  const file = args.positional[0];
  const config = loadConfigOrThrow(file);
  const r = resolveExperiment(config, planInput(config, path.dirname(path.resolve(file!))));
  if (args.flags.has('json')) {
    // The index and sign arrays are drawn only for --json (seconds for ResNet-34): the hash that
    // the PyTorch engine's `python -m rpg_torch plan --json` must print too.
    const mHash = r.plan ? materializedHash(materializePlan(r.plan)) : null;
    out(JSON.stringify({ name: config.name, mode: r.plan?.mode ?? 'plain', seed: config.seed, hash: r.plan?.hash ?? null, materializedHash: mHash, summary: r.summary }, null, 2));
  } else {
    out(formatPlan(r.summary, r.plan?.mode ?? 'plain (rpg.enabled = false)', config.seed, r.plan?.hash));
  }
  return 0;
}

/** Dataset shape for planning: the files if present, else the dataset's standard shape. */
function planInput(config: RpgConfig, baseDir: string): DatasetInfo {
  try {
    return describeDataset(config.data, baseDir);
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    const standard = nominalDatasetInfo(config.data, config.model.numClasses);
    process.stderr.write(`note: ${err.message}; planning with the standard ${config.data.dataset} shape ${standard.height}×${standard.width}×${standard.channels}, ${standard.numClasses} classes\n`);
    return standard;
  }
}

async function evalCommand(args: ParsedArgs): Promise<number> {
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

async function infoCommand(): Promise<number> {
  const choice = await selectBackend('auto');
  out(`RPG Studio CLI — node ${process.version}, tfjs ${tfjsVersion()}, ${require('node:os').cpus().length} CPU cores`);
  for (const b of choice.backends) out(`  ${b.available ? '✓' : '✗'} ${b.name.padEnd(10)} ${b.detail}`);
  out(`selected: ${choice.name} (${choice.reason}); threads ${choice.threads}; devices ${choice.devices.join(', ')}`);
  return 0;
}

async function dataCommand(args: ParsedArgs): Promise<number> {
  const [sub, name] = args.positional;
  if (sub !== 'download' || !name) throw new UsageError(`data download NAME, NAME one of ${DOWNLOADABLE_DATASETS.join(', ')}`);
  if (!(DOWNLOADABLE_DATASETS as readonly string[]).includes(name)) throw new UsageError(`unknown dataset "${name}"; one of ${DOWNLOADABLE_DATASETS.join(', ')}`);
  const dest = path.resolve(flagString(args, 'dest') ?? path.join('data', name));
  const result = await downloadDataset(name as DownloadableDataset, dest, {
    onProgress: (p) => process.stderr.write(`\r${p.message}\x1b[K`),
  });
  process.stderr.write('\n');
  out(`${name}: ${result.files.length} files verified (${result.skipped.length} already present) in ${result.dataPath}`);
  out(`use it with "data": { "dataset": "${name}", "path": ${JSON.stringify(result.dataPath)} }`);
  return 0;
}

export const commands: Record<string, Command> = {
  train: trainCommand,
  plan: planCommand,
  eval: evalCommand,
  info: infoCommand,
  data: dataCommand,
  sweep: sweepCommand,
  compress: compressCommand,
  export: exportCommand,
};
