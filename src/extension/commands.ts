// Every command of the extension, in one map from id to a factory that receives the Ctx.
// Commands accept what VS Code passes from each place they appear (a resource Uri from the
// editor title and explorer, a tree node from the Experiments view, nothing from the palette)
// and ask with a quick pick when that is not enough.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { newExperiment, ExperimentChoices } from './new-experiment';
import { showCompareRuns, showRingMapping, showTrainingCurves } from './panels';
import { isConfigDocument, planInProcess } from './plans';
import { runJob } from './jobs';
import { count, percent } from './format';
import type { RunInfo } from './runs';
import { revealField, startRun, TrainOutcome } from './training';
import type { ExperimentNode } from './views/experiments';
import { stopPickItems } from './pick-items';

type Command = (...args: unknown[]) => unknown;
type CommandFactory = (ctx: Ctx) => Command;

export const COMMANDS: Record<string, CommandFactory> = {
  'rpg.train': (ctx) => async (arg) => {
    const uri = await configUriOf(ctx, arg, 'Train which experiment?');
    if (!uri) return undefined;
    return startRun(ctx, { configUri: uri }) satisfies Promise<TrainOutcome>;
  },

  'rpg.stop': (ctx) => async (arg) => {
    const active = ctx.runs.activeRuns;
    let targets: RunInfo[];
    const run = runOf(ctx, arg);
    if (run) targets = [run];
    else if (arg instanceof vscode.Uri || isConfigNode(arg)) {
      const entry = ctx.runs.configFor(arg instanceof vscode.Uri ? arg : arg.entry.uri);
      targets = entry ? ctx.runs.runsOf(entry).filter((r) => r.status === 'running' || r.status === 'queued') : [];
    } else if (active.length <= 1) targets = [...active];
    else {
      const picked = await vscode.window.showQuickPick(stopPickItems(active), { title: 'Stop which run?' });
      targets = picked?.runs ?? [];
    }
    // The trainer knows what it trains before the Experiments view has scanned the new run.
    const ids = targets.length ? targets.map((r) => r.runId) : arg === undefined && ctx.trainer.activeRunIds.length === 1 ? ctx.trainer.activeRunIds : [];
    if (!ids.length) {
      void ctx.notify.info('No run is training.');
      return [];
    }
    const stopped = (await Promise.all(ids.map((id) => ctx.trainer.stopRuns(id)))).flat();
    ctx.log.info(`stop requested for ${stopped.join(', ') || 'nothing'}`);
    return stopped;
  },

  'rpg.resume': (ctx) => async (arg) => {
    let run = runOf(ctx, arg);
    if (!run) {
      const ended = ctx.runs.runs.filter((r) => r.status === 'stopped' || r.status === 'failed');
      const resumable = ended.filter((r) => r.hasCheckpoint);
      if (!resumable.length) {
        const without = ended.length;
        void ctx.notify.info(
          without
            ? `No run can be resumed: ${without === 1 ? 'the stopped or failed run ended' : `the ${without} stopped or failed runs ended`} before writing a checkpoint. Train the config again (checkpoints come at each epoch end and every train.checkpointMinutes).`
            : 'No stopped or failed run to resume.',
        );
        return undefined;
      }
      const picked = await vscode.window.showQuickPick(
        resumable.map((r) => ({ label: r.name, description: `${r.status} · checkpoint at step ${r.record?.checkpointStep ?? r.record?.step ?? '?'} · ${r.runId}`, detail: r.dir, run: r })),
        { title: 'Resume which run?', matchOnDetail: true },
      );
      run = picked?.run;
    }
    if (!run) return undefined;
    if (!run.hasCheckpoint) {
      void ctx.notify.transientError(`${run.name} (${run.runId}) has no checkpoint to resume from: it ended at step ${run.record?.step ?? 0}, before its first checkpoint. Train the config again.`);
      return undefined;
    }
    return startRun(ctx, { resume: run });
  },

  'rpg.newExperiment': (ctx) => (arg) => newExperiment(ctx.extension.extensionUri, isChoices(arg) ? arg : arg instanceof vscode.Uri ? { folder: arg.fsPath } : {}, (arch) => measuredRate(ctx, arch)),

  'rpg.showRingMapping': (ctx) => async (arg) => {
    const uri = await configUriOf(ctx, arg, 'Show the ring mapping of which experiment?');
    if (uri) await showRingMapping(ctx.panelDeps(), uri);
  },

  'rpg.showTrainingCurves': (ctx) => async (arg) => {
    const view = (arg as { view?: unknown } | undefined)?.view;
    if (view === 'dof' || view === 'curves') return showTrainingCurves(ctx.panelDeps(), undefined, view);
    const run = runOf(ctx, arg);
    const dirs = run?.dir ? [run.dir] : typeof arg === 'string' && existsSync(arg) ? [arg] : Array.isArray(arg) ? arg.filter((a): a is string => typeof a === 'string') : undefined;
    // From the status bar: the runs training now, else whatever the panel chooses (latest runs).
    const active = ctx.runs.activeRuns.filter((r) => r.dir).map((r) => r.dir);
    await showTrainingCurves(ctx.panelDeps(), dirs ?? (active.length ? active : undefined));
  },

  'rpg.compareRuns': (ctx) => () => showCompareRuns(ctx.panelDeps()),
  /** `rpg sweep` from the palette: ring sizes picked around the model's size, then the trainer trains them. */
  'rpg.sweep': (ctx) => async (arg) => {
    const given = (typeof arg === 'object' && arg !== null && !(arg instanceof vscode.Uri) && 'dofs' in arg ? arg : {}) as { configUri?: vscode.Uri | string; dofs?: number[]; repeats?: number; baselines?: boolean };
    const uri = given.configUri ? (typeof given.configUri === 'string' ? vscode.Uri.file(given.configUri) : given.configUri) : await configUriOf(ctx, arg, 'Sweep the DoF of which experiment?');
    if (!uri) return undefined;
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    const ref = { configPath: uri.fsPath, ...(document?.isDirty ? { text: document.getText() } : {}) };
    let dofs = given.dofs;
    let baselines = given.baselines ?? false;
    if (!dofs) {
      const plan = await planInProcess(ref).catch((err: Error) => {
        void ctx.notify.transientError(`Cannot sweep ${path.basename(uri.fsPath)}: ${err.message}`);
        return undefined;
      });
      if (!plan) return undefined;
      const picked = await pickSweepSizes(plan.summary.generatedParams, plan.ringSize);
      if (!picked) return undefined;
      ({ dofs, baselines } = picked);
    }
    const name = ctx.runs.configFor(uri)?.name ?? path.basename(uri.fsPath).replace(/\.rpg\.json$/, '');
    return runJob(ctx, { kind: 'sweep', ...ref, runsDir: ctx.runs.runsDirFor(uri), dofs, ...(given.repeats ? { repeats: given.repeats } : {}), ...(baselines ? { baselines: true } : {}) }, `${name}: ${dofs.length} ring sizes${baselines ? ' + baselines' : ''}`);
  },

  /** `rpg compress` from the palette: prune and quantize a trained run's ring into a .rpgz. */
  'rpg.compress': (ctx) => async (arg) => {
    const given = (typeof arg === 'object' && arg !== null && 'prune' in arg ? arg : {}) as { runDir?: string; prune?: number; bits?: number; finetune?: number };
    const run = given.runDir ? ctx.runs.findRun(given.runDir) : (runOf(ctx, arg) ?? (await pickRun(ctx, 'Compress which run?', (r) => r.hasCheckpoint && r.record?.config?.rpg?.enabled !== false)));
    if (!run?.dir) return undefined;
    const prune = given.prune ?? (await pickNumber('Compress (1/2): prune how much of the ring?', [[0, 'keep every entry'], [0.25, 'the smallest 25%'], [0.5, 'the smallest half (the README\'s example)'], [0.75, 'the smallest 75%']], 2));
    if (prune === undefined) return undefined;
    const bits = given.bits ?? (await pickNumber('Compress (2/2): bits per kept ring entry', [[8, '8-bit codes'], [4, '4-bit codes (fine-tune 200 steps to recover accuracy)'], [2, '2-bit codes']], 0));
    if (bits === undefined) return undefined;
    const finetune = given.finetune ?? (bits < 8 || prune > 0 ? 200 : 0);
    return runJob(ctx, { kind: 'compress', runDir: run.dir, prune, bits, ...(finetune ? { finetune } : {}) }, `${run.name} (${run.runId}): prune ${percent(prune, 0)}, ${bits}-bit${finetune ? `, fine-tune ${finetune} steps` : ''}`);
  },

  /** `rpg export` from the palette: the generated model as a TensorFlow.js Layers model. */
  'rpg.export': (ctx) => async (arg) => {
    const given = (typeof arg === 'object' && arg !== null && 'source' in arg ? arg : {}) as { source?: string; format?: string };
    const source = given.source ?? (runOf(ctx, arg) ?? (await pickRun(ctx, 'Export which run?', (r) => r.hasCheckpoint)))?.dir;
    if (!source) return undefined;
    const format = given.format ?? (await vscode.window.showQuickPick([
      { label: 'tfjs', description: 'a TensorFlow.js Layers model (model.json + weights.bin), checked after loading' },
      { label: 'rpgz', description: 'a compressed ring (RPG: Compress Run)' },
      { label: 'onnx', description: 'not available: export tfjs, then convert with tensorflowjs_converter and tf2onnx' },
    ], { title: 'Export as' }))?.label;
    if (!format) return undefined;
    if (format === 'rpgz') return vscode.commands.executeCommand('rpg.compress', ctx.runs.findRun(source) ?? { runDir: source });
    if (format === 'onnx') {
      void ctx.notify.info('ONNX export is not available: npm has no maintained exporter for TensorFlow.js models. Export tfjs, then convert it with the Python tools (tensorflowjs_converter to a SavedModel, then tf2onnx).');
      return undefined;
    }
    return runJob(ctx, { kind: 'export', source, format: 'tfjs' }, path.basename(source));
  },

  /** `rpg eval` from the palette: a run's checkpoint (or a .rpgz) on its test split. */
  'rpg.evaluate': (ctx) => async (arg) => {
    const given = (typeof arg === 'object' && arg !== null && 'target' in arg ? arg : {}) as { target?: string };
    const target = given.target ?? (arg instanceof vscode.Uri && arg.fsPath.endsWith('.rpgz') ? arg.fsPath : (runOf(ctx, arg) ?? (await pickRun(ctx, 'Evaluate which run?', (r) => r.hasCheckpoint)))?.dir);
    if (!target) return undefined;
    return runJob(ctx, { kind: 'eval', target }, path.basename(target));
  },

  'rpg.openRunFolder': (ctx) => async (arg) => {
    const run = runOf(ctx, arg) ?? (await pickRun(ctx, 'Open which run folder?'));
    if (!run?.dir) return;
    const runJson = vscode.Uri.file(path.join(run.dir, 'run.json'));
    if (vscode.workspace.getWorkspaceFolder(runJson)) {
      await vscode.commands.executeCommand('revealInExplorer', runJson);
      await vscode.window.showTextDocument(runJson, { preview: true });
    } else {
      await vscode.commands.executeCommand('revealFileInOS', runJson);
    }
  },

  'rpg.revealRun': (ctx) => async (arg) => {
    const run = runOf(ctx, arg);
    if (run?.dir) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(run.dir));
  },

  'rpg.deleteRun': (ctx) => async (arg) => {
    // Only a run the model found by scanning a runs folder, never a path the caller made up.
    const run = knownRunOf(ctx, arg);
    if (!run?.dir || run.status === 'running' || run.status === 'queued') return false;
    if (!(await ctx.runs.isDeletableRunDir(run.dir))) {
      ctx.log.warn(`rpg.deleteRun: refused ${run.dir}: not a run folder inside a known runs folder`);
      return false;
    }
    const answer = await vscode.window.showWarningMessage(`Delete run ${run.runId} (metrics and checkpoint)?`, { modal: true, detail: run.dir }, 'Delete');
    if (answer !== 'Delete') return false;
    await fs.rm(run.dir, { recursive: true, force: true });
    await ctx.runs.refresh();
    return true;
  },

  'rpg.restartTrainer': (ctx) => async (arg) => {
    const active = ctx.trainer.activeRunIds.length;
    const confirmed = (arg as { confirmed?: boolean } | undefined)?.confirmed === true;
    if (active && !confirmed) {
      const a = await vscode.window.showWarningMessage(`${active} run(s) are training. Restarting stops them at a checkpoint (resume them later).`, { modal: true }, 'Restart');
      if (a !== 'Restart') return;
    }
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Restarting the RPG trainer' }, () => ctx.trainer.restart('restart requested'));
  },

  'rpg.showLog': (ctx) => () => ctx.log.show(),

  'rpg.experiments.refresh': (ctx) => () => ctx.runs.refresh(),

  /** The "Browse…" quick fix of data.path (sent by the language server with the value's range). */
  'rpg.browseDataPath': () => async (uriArg, rangeArg) => {
    const uri = typeof uriArg === 'string' ? vscode.Uri.parse(uriArg) : uriArg instanceof vscode.Uri ? uriArg : undefined;
    const r = rangeArg as { start?: { line: number; character: number }; end?: { line: number; character: number } } | undefined;
    if (!uri || !r?.start || !r.end) return undefined;
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title: 'Folder holding the dataset files', openLabel: 'Use this folder', defaultUri: vscode.Uri.joinPath(uri, '..') });
    const folder = picked?.[0];
    if (!folder) return undefined;
    const rel = path.relative(path.dirname(uri.fsPath), folder.fsPath);
    const value = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : folder.fsPath;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character), JSON.stringify(value));
    await vscode.workspace.applyEdit(edit);
    return value;
  },

  'rpg.openConfig': () => async (arg) => {
    const { uri, field } = (arg ?? {}) as { uri?: string | vscode.Uri; field?: string };
    if (uri) await revealField(typeof uri === 'string' ? vscode.Uri.parse(uri) : uri, field);
  },
};

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, factory]) => {
    const run = factory(ctx);
    return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await run(...args);
      } catch (err) {
        // VS Code shows command errors without context; say which command failed and keep a log.
        const message = (err as Error).message ?? String(err);
        ctx.log.error(`${id} failed: ${(err as Error).stack ?? message}`);
        void vscode.window.showErrorMessage(`RPG: ${message}`, 'Show Log').then((a) => a && ctx.log.show());
        return undefined;
      }
    });
  });
}

/** The config a command is about: its argument, the active editor, or the user's pick. */
async function configUriOf(ctx: Ctx, arg: unknown, title: string): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg.endsWith('.rpg.json')) return vscode.Uri.file(arg);
  if (isConfigNode(arg)) return arg.entry.uri;
  const editor = vscode.window.activeTextEditor;
  if (editor && isConfigDocument(editor.document)) return editor.document.uri;
  await ctx.runs.refresh();
  const configs = ctx.runs.configs;
  if (configs.length === 0) {
    const a = await vscode.window.showInformationMessage('There is no .rpg.json experiment in this workspace.', 'New Experiment');
    if (a) await vscode.commands.executeCommand('rpg.newExperiment');
    return undefined;
  }
  if (configs.length === 1) return configs[0]!.uri;
  const picked = await vscode.window.showQuickPick(
    configs.map((c) => ({ label: c.name, description: vscode.workspace.asRelativePath(c.uri), uri: c.uri })),
    { title, matchOnDescription: true },
  );
  return picked?.uri;
}

/** The run a command is about: a tree node, a RunInfo, a run id or a run folder. */
function runOf(ctx: Ctx, arg: unknown): RunInfo | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') return ctx.runs.findRun(arg);
  if (arg instanceof vscode.Uri) return ctx.runs.findRun(arg.fsPath);
  const node = arg as { kind?: unknown; run?: RunInfo; runId?: unknown };
  if (node.kind === 'run' && node.run) return ctx.runs.findRun(node.run.runId) ?? node.run;
  if (typeof node.runId === 'string') return ctx.runs.findRun(node.runId) ?? (arg as RunInfo);
  return undefined;
}

/** Like runOf, but only what RunsModel.findRun knows: no fallback to the argument itself. */
function knownRunOf(ctx: Ctx, arg: unknown): RunInfo | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') return ctx.runs.findRun(arg);
  if (arg instanceof vscode.Uri) return arg.scheme === 'file' ? ctx.runs.findRun(arg.fsPath) : undefined;
  const node = arg as { kind?: unknown; run?: { runId?: unknown; dir?: unknown }; runId?: unknown; dir?: unknown };
  const ref = node.kind === 'run' && node.run ? node.run : node;
  // By folder when given (two runs of different experiments can share an id), else by id.
  const found = typeof ref.dir === 'string' && ref.dir ? ctx.runs.findRun(ref.dir) : typeof ref.runId === 'string' ? ctx.runs.findRun(ref.runId) : undefined;
  if (found && typeof ref.runId === 'string' && found.runId !== ref.runId) return undefined;
  return found;
}

async function pickRun(ctx: Ctx, title: string, fits: (r: RunInfo) => boolean = () => true): Promise<RunInfo | undefined> {
  await ctx.runs.refresh();
  const runs = ctx.runs.runs.filter((r) => r.dir && fits(r));
  if (!runs.length) {
    void ctx.notify.info('No run fits: it needs a checkpoint (train a config first).');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: r.name, description: `${r.status} · ${r.runId}`, run: r })),
    { title },
  );
  return picked?.run;
}

/** Ring sizes for a sweep: a log-spaced ladder up to the model's size, the current ring marked. */
async function pickSweepSizes(generated: number, current: number): Promise<{ dofs: number[]; baselines: boolean } | undefined> {
  const fractions = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];
  const sizes = [...new Set(fractions.map((f) => Math.max(1, Math.round(f * generated))))];
  type Item = vscode.QuickPickItem & { readonly dof?: number; readonly baselines?: true };
  const items: Item[] = [
    ...sizes.map((d) => ({ label: count(d), description: `${percent(d / generated, 1)} of ${count(generated)} generated weights${d === current ? ' · this config' : ''}`, picked: d >= generated * 0.005 && d <= generated * 0.2, dof: d })),
    { label: '$(beaker) Also baselines', description: 'the plain model narrowed to each size, and a random subspace of it', baselines: true },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'DoF sweep: ring sizes to train (each also trains once more per repeat)', canPickMany: true, ignoreFocusOut: true });
  if (!picked) return undefined;
  const dofs = picked.map((i) => i.dof).filter((d): d is number => d !== undefined);
  if (!dofs.length) return undefined;
  return { dofs, baselines: picked.some((i) => i.baselines) };
}

/** One number from a quick pick of [value, description]. */
async function pickNumber(title: string, choices: readonly (readonly [number, string])[], active: number): Promise<number | undefined> {
  const items = choices.map(([value, description]) => ({ label: String(value), description, value }));
  const qp = await vscode.window.showQuickPick(items, { title, placeHolder: items[active]?.label });
  return qp?.value;
}

function isConfigNode(arg: unknown): arg is Extract<ExperimentNode, { kind: 'config' }> {
  return typeof arg === 'object' && arg !== null && (arg as { kind?: unknown }).kind === 'config';
}

/** How fast this architecture trained here last time (a finished or stopped run of it), for the wizard's estimates. */
function measuredRate(ctx: Ctx, arch: string): { samplesPerSec: number; from: string } | undefined {
  const runs = ctx.runs.runs.filter((r) => r.record?.arch === arch && (r.status === 'finished' || r.status === 'stopped') && (r.record.durationSec ?? 0) > 5);
  const run = runs[0];
  const batch = (run?.record?.config as { train?: { batchSize?: number } } | undefined)?.train?.batchSize;
  if (!run?.record || !batch) return undefined;
  return { samplesPerSec: (run.record.step * batch) / run.record.durationSec, from: `your run ${run.name} (${run.runId}) trained on ${run.record.backend}` };
}

function isChoices(arg: unknown): arg is Partial<ExperimentChoices> {
  return typeof arg === 'object' && arg !== null && !(arg instanceof vscode.Uri) && ('arch' in arg || 'name' in arg || 'dataset' in arg);
}
