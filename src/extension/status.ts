// The status bar item: which backend the trainer uses, and while a run trains,
// "epoch 3/10 · 71% · 1,240 samples/s". Clicking opens the training curves. Theme colours only.
import * as vscode from 'vscode';
import { count, duration, epochOf, percent } from './format';
import type { RunInfo, RunsModel } from './runs';
import type { TrainerService, TrainerState } from './trainer';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  /** The last value of the `rpg.training` context key, so it is set only when it changes. */
  private trainingContext: boolean | undefined;

  constructor(
    private readonly trainer: TrainerService,
    private readonly runs: RunsModel,
  ) {
    this.item = vscode.window.createStatusBarItem('rpg.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'RPG Training';
    this.item.command = 'rpg.showTrainingCurves';
    this.disposables.push(this.item, trainer.onDidChangeState(() => this.update()), runs.onDidChange(() => this.update()));
    this.update();
  }

  /** The text shown now (tests read it). */
  get text(): string {
    return this.item.text;
  }

  /** What a screen reader says for the item now. */
  get accessibilityLabel(): string {
    return this.item.accessibilityInformation?.label ?? '';
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  update(): void {
    const state = this.trainer.state;
    const active = this.runs.activeRuns;
    const training = active.filter((r) => r.status === 'running');
    const item = this.item;
    item.backgroundColor = undefined;
    item.color = undefined;
    if (this.trainingContext !== active.length > 0) {
      this.trainingContext = active.length > 0;
      void vscode.commands.executeCommand('setContext', 'rpg.training', this.trainingContext);
    }

    // Every branch sets the text, the tooltip and what a screen reader says: nothing carries over.
    let label: string;
    if (training.length > 0) {
      const run = training[0]!;
      const more = training.length > 1 ? ` (+${training.length - 1})` : '';
      item.text = `$(sync~spin) ${liveText(run)}${more}`;
      item.tooltip = tooltip(state, active);
      label = `RPG training ${run.name}: ${liveText(run)}${more}`;
    } else if (active.length > 0) {
      item.text = `$(watch) RPG: ${active.length} queued`;
      item.tooltip = tooltip(state, active);
      label = `RPG: ${active.length} run${active.length === 1 ? '' : 's'} queued`;
    } else if (state.kind === 'crashed') {
      item.text = '$(error) RPG: trainer stopped';
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      item.color = new vscode.ThemeColor('statusBarItem.errorForeground');
      item.tooltip = `${state.message}\n\nClick to see the training curves; run "RPG: Restart Trainer" or train again to start a fresh trainer.`;
      label = `RPG: the trainer stopped. ${state.message}`;
    } else if (state.kind === 'starting') {
      item.text = '$(loading~spin) RPG: starting trainer';
      item.tooltip = 'The trainer process is starting.';
      label = 'RPG: starting the trainer';
    } else if (state.kind === 'stopping') {
      item.text = '$(loading~spin) RPG: stopping trainer';
      item.tooltip = 'The trainer process is stopping; the next command waits for it and starts a fresh one.';
      label = 'RPG: stopping the trainer';
    } else if (state.kind === 'ready') {
      item.text = `$(circuit-board) RPG: ${deviceLabel(state.info)}`;
      item.tooltip = tooltip(state, active);
      label = `RPG trainer ready on ${deviceText(state.info.backend, state.info.devices)}`;
    } else {
      item.text = '$(circuit-board) RPG';
      item.tooltip = 'RPG Studio: the trainer starts when you train a config. Click to see the training curves.';
      label = 'RPG Studio: no trainer running';
    }
    item.accessibilityInformation = { label };
    item.show();
  }
}

/** "wasm", "tensorflow · GPU (CUDA)": the backend, and the device when it says more than "CPU". */
export function deviceText(backend: string | undefined, devices: readonly string[] | string | undefined): string {
  const device = typeof devices === 'string' ? devices : devices?.[0];
  return [backend ?? '?', device && device !== 'CPU' ? device : ''].filter(Boolean).join(' · ');
}


/** The backend, and on webgpu its adapter: "webgpu · NVIDIA GeForce RTX 4090" (shortened). */
export function deviceLabel(info: { readonly backend: string; readonly devices: readonly string[] }): string {
  const device = info.devices[0];
  if (info.backend !== 'webgpu' || !device?.startsWith('webgpu · ')) return info.backend;
  return device.length > 48 ? `${device.slice(0, 47)}…` : device;
}

/** "epoch 3/10 · 71% · 1,240 samples/s · 2 min 5 s left · wasm" for a training run. */
export function liveText(run: RunInfo): string {
  const live = run.live;
  if (!live) return `${run.name}: starting`;
  const eta = live.etaSeconds > 0 && Number.isFinite(live.etaSeconds) ? ` · ${duration(live.etaSeconds)} left` : '';
  return `${epochOf(live.epoch, live.totalEpochs)} · ${percent(live.progress, 0)} · ${count(live.samplesPerSec)} samples/s${eta} · ${deviceText(live.backend ?? run.record?.backend, live.device ?? run.record?.device)}`;
}

function tooltip(state: TrainerState, active: readonly RunInfo[]): vscode.MarkdownString {
  const md = new vscode.MarkdownString('', true);
  if (state.kind === 'ready') {
    md.appendMarkdown(`**RPG trainer** — backend \`${state.info.backend}\`${state.info.devices.length ? ` on ${escapeMarkdown(state.info.devices.join(', '))}` : ''}, ${state.info.threads} thread(s), pid ${state.info.pid}  \n`);
    md.appendText(state.info.reason);
    md.appendMarkdown('\n\n');
  }
  for (const run of active) {
    const name = run.name;
    if (run.status === 'queued') md.appendMarkdown(`$(watch) ${escapeMarkdown(name)}: queued  \n`);
    else if (run.live) md.appendMarkdown(`$(sync) ${escapeMarkdown(name)}: ${escapeMarkdown(liveText(run))}, loss ${run.live.loss.toFixed(4)}  \n`);
    else md.appendMarkdown(`$(sync) ${escapeMarkdown(name)}: starting  \n`);
  }
  md.appendMarkdown('\nClick to open the training curves.');
  return md;
}

/** Text made literal inside a MarkdownString (run.json fields, names). */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
