// State that lives as long as the extension: the log, settings, the trainer, the runs model,
// plans, views and the status bar. Commands receive this and nothing else.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { Config, needsTrainerRestart } from './config';
import { ConfigCodeLenses } from './codelens';
import type { PanelDeps } from './panels';
import { LayerWeightsWorker } from './layer-weights/client';
import { Notifier } from './notify';
import { planInProcess, PlanService } from './plans';
import { RunsModel } from './runs';
import { StatusBar } from './status';
import { TrainerService } from './trainer';
import { ExperimentNode, ExperimentsTree } from './views/experiments';
import { LayerNode, LayersTree } from './views/layers';

/** A failure shown to the user (tests listen for these: notifications cannot be read back). */
export interface ReportedFailure {
  readonly message: string;
  readonly field?: string;
  readonly configUri?: vscode.Uri;
  readonly runId?: string;
}

export class Ctx implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly config = new Config();
  readonly trainer: TrainerService;
  readonly runs: RunsModel;
  readonly plans: PlanService;
  readonly status: StatusBar;
  readonly experiments: ExperimentsTree;
  readonly layers: LayersTree;
  readonly experimentsView: vscode.TreeView<ExperimentNode>;
  readonly layersView: vscode.TreeView<LayerNode>;
  readonly failures = new vscode.EventEmitter<ReportedFailure>();
  /** Every notification shown (tests read what a user was told). */
  readonly notify = new Notifier();
  /** The ring mapping's layer weights, off this thread (dist/layer-weights-worker.js). */
  readonly layerWeights: LayerWeightsWorker;
  /** The language client once started. */
  languageClient: LanguageClient | undefined;
  /** The client from the moment it is created, while it may still be starting (or failed). */
  languageClientStarting: LanguageClient | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private restartPromptPending = false;
  private hasFinishedRun: boolean | undefined;

  constructor(readonly extension: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('RPG Studio', { log: true });
    this.trainer = new TrainerService(vscode.Uri.joinPath(extension.extensionUri, 'dist', 'trainer.js').fsPath, this.config, this.log);
    this.runs = new RunsModel(this.config, this.trainer);
    this.plans = new PlanService(this.config);
    this.layerWeights = new LayerWeightsWorker({ script: vscode.Uri.joinPath(extension.extensionUri, 'dist', 'layer-weights-worker.js').fsPath, log: (m) => this.log.info(m) });
    this.status = new StatusBar(this.trainer, this.runs);
    this.experiments = new ExperimentsTree(this.runs);
    this.layers = new LayersTree(this.plans);
    this.experimentsView = vscode.window.createTreeView('rpg.experiments', { treeDataProvider: this.experiments, showCollapseAll: true });
    this.layersView = vscode.window.createTreeView('rpg.layers', { treeDataProvider: this.layers, showCollapseAll: true });
    this.layers.attach(this.layersView);
    const lenses = new ConfigCodeLenses(this.plans, this.runs);
    this.disposables.push(
      this.failures,
      this.notify,
      this.experimentsView,
      this.layersView,
      this.layers,
      this.experiments,
      this.status,
      lenses,
      vscode.languages.registerCodeLensProvider({ language: 'rpg-config' }, lenses),
      this.plans,
      this.layerWeights,
      this.runs,
      this.trainer,
      this.log,
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfigurationChange(e)),
      this.trainer.onRunEvent((e) => e.kind === 'started' && void this.revealRun(e.runId)),
      this.runs.onDidChange(() => this.updateFinishedContext()),
    );
  }

  /** `rpg.hasFinishedRun`: the walkthrough's "Train it" is done when a run finished, not when Train was clicked. */
  private updateFinishedContext(): void {
    const finished = this.runs.runs.some((r) => r.status === 'finished');
    if (finished === this.hasFinishedRun) return;
    this.hasFinishedRun = finished;
    void vscode.commands.executeCommand('setContext', 'rpg.hasFinishedRun', finished);
  }

  /** Shows a run that just started in the Experiments view (when the view is open). */
  async revealRun(runId: string): Promise<void> {
    await this.runs.refresh();
    const run = this.runs.findRun(runId);
    if (!run || !this.experimentsView.visible) return;
    const parent = this.runs.configs.find((c) => this.runs.runsOf(c).includes(run));
    await this.experimentsView.reveal({ kind: 'run', run, parent }, { select: false, focus: false, expand: true }).then(undefined, (err: Error) => this.log.trace(`reveal ${runId}: ${err.message}`));
  }

  /** What the webview panels need from the extension. */
  panelDeps(): PanelDeps {
    return {
      extensionUri: this.extension.extensionUri,
      // Plans and layer weights are pure JS (plus reading a checkpoint) and computed here, the
      // weights in a worker thread: no trainer process starts to look at a config, so the
      // panel works in Restricted Mode.
      planning: { plan: (ref) => planInProcess(ref), layerWeights: (p, lane) => this.layerWeights.request(p, lane), cancelLayerWeights: (lane) => this.layerWeights.cancelLane(lane) },
      log: (m) => this.log.info(`[panels] ${m}`),
      revealLayer: (configUri, layerName) => void this.revealLayer(configUri, layerName),
      runsDir: () => {
        const folder = vscode.workspace.workspaceFolders?.[0];
        return folder ? this.config.runsDir(folder, folder.uri.fsPath) : undefined;
      },
      runs: this.runs,
      notify: (text, ...actions) => this.notify.info(text, ...actions),
    };
  }

  /** Shows the config and its layer in the Layers view. */
  async revealLayer(configUri: vscode.Uri, layerName: string): Promise<void> {
    const document = await vscode.workspace.openTextDocument(configUri);
    await vscode.window.showTextDocument(document, { preview: false, preserveFocus: true, viewColumn: vscode.ViewColumn.One });
    this.layers.follow(document);
    const outcome = await this.plans.get(document);
    if (!outcome.ok) return;
    const layer = outcome.plan.layers.find((l) => l.name === layerName);
    if (layer) await this.layersView.reveal({ kind: 'layer', layer, plan: outcome.plan }, { select: true, focus: false, expand: true }).then(undefined, () => undefined);
  }

  dispose(): void {
    for (const d of this.disposables.reverse()) d.dispose();
  }

  private onConfigurationChange(e: vscode.ConfigurationChangeEvent): void {
    if (!needsTrainerRestart(e)) return;
    const kind = this.trainer.state.kind;
    if (kind === 'starting') {
      // The trainer may have read the settings before this change: ask once it is ready.
      if (this.restartPromptPending) return;
      this.restartPromptPending = true;
      const sub = this.trainer.onDidChangeState((state) => {
        if (state.kind === 'starting') return;
        sub.dispose();
        this.restartPromptPending = false;
        if (state.kind === 'ready') this.offerRestart();
      });
      this.disposables.push(sub);
      return;
    }
    if (kind === 'ready') this.offerRestart();
  }

  private offerRestart(): void {
    const active = this.trainer.activeRunIds.length;
    const note = active ? ` ${active} run(s) will stop at a checkpoint; resume them from the Experiments view.` : '';
    void this.notify.info(`The trainer reads this setting when it starts. Restart it now?${note}`, 'Restart Trainer').then((a) => {
      if (a) void vscode.commands.executeCommand('rpg.restartTrainer', { confirmed: true });
    });
  }
}
