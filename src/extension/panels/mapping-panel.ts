// The ring mapping panel's host: plans the config, finds the config's latest run with a
// checkpoint (the detail view shows its trained ring, else the initial one), and answers the
// webview's layer selections with the layer's weights. Both are computed by the extension
// (deps.planning; the weights in a worker thread), so looking at a config never starts the
// trainer, in Restricted Mode too.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConfigRef, PlanResult } from '../../core/experiment/types';
import { MAPPING_VIEW_TYPE, MappingToHost, MappingToWebview, MappingViewState } from '../../webview-contract';
import type { PanelDeps } from './deps';
import { PanelHost } from './panel-host';
import { scanRuns } from '../../core/runs/scan';
import { defaultRunsDir } from './runs-dir';

/** At most this many weights of a layer travel to the heatmap (a strided grid sample). */
const HEATMAP_VALUES = 128 * 128;
let panels = 0;

class MappingPanel {
  static current: MappingPanel | undefined;
  private readonly host: PanelHost<MappingToWebview, MappingToHost>;
  private configUri: vscode.Uri | undefined;
  private plan: PlanResult | undefined;
  /** The config as it was planned: layer weights are drawn from the same text. */
  private ref: ConfigRef | undefined;
  private runDir: string | undefined;
  private error: string | undefined;
  private openedAt = Date.now();
  private planMs: number | undefined;
  private loading: Promise<void> | undefined;
  /** This panel's requests in the worker's queue, dropped together when it closes. */
  private readonly lane = `ring-mapping-${++panels}`;
  private disposed = false;

  constructor(panel: vscode.WebviewPanel, private readonly deps: PanelDeps) {
    this.host = new PanelHost<MappingToWebview, MappingToHost>(
      panel,
      { extensionUri: deps.extensionUri, bundle: 'webview-mapping', title: 'Ring Mapping', label: 'RPG ring mapping' },
      (m) => this.onMessage(m),
      (e) => deps.log(`ring mapping: ${e instanceof Error ? e.message : String(e)}`),
      () => {
        this.disposed = true;
        this.deps.planning.cancelLayerWeights(this.lane);
        if (MappingPanel.current === this) MappingPanel.current = undefined;
      },
    );
  }

  reveal(): void {
    this.host.panel.reveal(this.host.panel.viewColumn ?? vscode.ViewColumn.Beside);
  }

  /** Shows `configUri`'s plan (again: edits since the last load count). */
  load(configUri: vscode.Uri): Promise<void> {
    this.configUri = configUri;
    this.openedAt = Date.now();
    this.plan = undefined;
    this.ref = undefined;
    this.error = undefined;
    this.host.panel.title = `Ring Mapping: ${path.basename(configUri.fsPath).replace(/\.rpg\.json$/, '')}`;
    this.host.post({ type: 'loading', configPath: configUri.fsPath });
    const started = Date.now();
    const loading = (async () => {
      try {
        const ref = configRefOf(configUri);
        const plan = await this.deps.planning.plan(ref);
        if (this.configUri !== configUri) return;
        this.plan = plan;
        this.ref = ref;
        this.planMs = Date.now() - started;
        this.runDir = await latestCheckpointedRun(this.deps, configUri, plan);
        if (this.configUri !== configUri) return;
        this.deps.log(`ring mapping: plan of ${plan.name} (${plan.layers.length} generated layers) in ${Date.now() - started} ms`);
        this.sendPlan();
      } catch (e) {
        if (this.configUri !== configUri) return; // a newer config is loading: its outcome counts
        this.error = e instanceof Error ? e.message : String(e);
        this.host.post({ type: 'error', message: this.error });
      }
    })();
    this.loading = loading;
    return loading;
  }

  private sendPlan(): void {
    if (!this.plan || !this.configUri) return;
    this.host.post({ type: 'plan', plan: this.plan, configPath: this.configUri.fsPath, openedAt: this.openedAt, ...(this.planMs !== undefined ? { planMs: this.planMs } : {}), ...(this.runDir ? { runDir: this.runDir } : {}) });
  }

  private async onMessage(m: MappingToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        if (!this.configUri && m.state?.configPath) {
          await this.load(vscode.Uri.file(m.state.configPath));
          return;
        }
        if (this.plan) this.sendPlan();
        else if (this.error) this.host.post({ type: 'error', message: this.error });
        else if (this.configUri) this.host.post({ type: 'loading', configPath: this.configUri.fsPath });
        return;
      case 'refresh':
        if (this.configUri) await this.load(this.configUri);
        return;
      case 'requestWeights':
        await this.sendLayerWeights(m.layer);
        return;
      case 'revealLayer':
        if (this.configUri) this.deps.revealLayer?.(this.configUri, m.layer);
        return;
      case 'rendered':
        this.deps.log(`ring mapping: ${m.layers} layers drawn ${m.ms} ms after the panel was asked for (plan ${m.planMs ?? '?'} ms)`);
        return;
    }
  }

  private async sendLayerWeights(layer: string): Promise<void> {
    await this.loading;
    if (!this.ref || !this.plan || !this.configUri || this.disposed) return;
    const key = planKey(this.configUri, this.plan);
    const params = { ...this.ref, layer, maxValues: HEATMAP_VALUES, ...(this.runDir ? { runDir: this.runDir } : {}) };
    try {
      // A checkpoint of an older config, or a corrupt one, comes back as the initial ring with a note.
      const outcome = await this.deps.planning.layerWeights(params, this.lane);
      if (outcome.kind === 'dropped') return; // the panel closed
      // Weights of a plan the webview no longer shows would be cached there under this plan.
      await this.loading;
      if (!this.isCurrent(key)) return;
      if (outcome.result.note) this.deps.log(`ring mapping: ${outcome.result.note}`);
      this.host.post({ type: 'layerWeights', result: outcome.result });
    } catch (e) {
      // The worker's errors for this request, or the worker stopping under it (it restarts).
      await this.loading;
      if (this.isCurrent(key)) this.host.post({ type: 'error', message: e instanceof Error ? e.message : String(e), layer });
    }
  }

  private isCurrent(key: string): boolean {
    return !this.disposed && !!this.plan && !!this.configUri && planKey(this.configUri, this.plan) === key;
  }

  dispose(): void {
    this.disposed = true;
    this.host.dispose();
  }
}

/** What the webview keys its cached weights by: a new config or plan hash clears them. */
function planKey(configUri: vscode.Uri, plan: PlanResult): string {
  return `${configUri.fsPath}\n${plan.hash}`;
}

/** The config by path, with the editor's text when it has unsaved edits. */
function configRefOf(uri: vscode.Uri): ConfigRef {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  return doc?.isDirty ? { configPath: uri.fsPath, text: doc.getText() } : { configPath: uri.fsPath };
}

/** Newest run with this config's name and ring size that has a checkpoint; ringToView then checks its plan hash. */
async function latestCheckpointedRun(deps: PanelDeps, configUri: vscode.Uri, plan: PlanResult): Promise<string | undefined> {
  const runsDir = deps.runsDir?.() ?? defaultRunsDir(configUri);
  if (!runsDir) return undefined;
  const runs = await scanRuns(runsDir);
  return runs.find((r) => r.hasCheckpoint && r.record.name === plan.name && r.record.ringSize === plan.ringSize)?.dir;
}

export async function showRingMapping(deps: PanelDeps, configUri: vscode.Uri): Promise<void> {
  let panel = MappingPanel.current;
  if (panel) panel.reveal();
  else {
    const webviewPanel = vscode.window.createWebviewPanel(MAPPING_VIEW_TYPE, 'Ring Mapping', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {});
    panel = MappingPanel.current = new MappingPanel(webviewPanel, deps);
  }
  await panel.load(configUri);
}

/** After a restart: adopt the restored panel; its webview's "ready" names the config to load. */
export function reviveRingMapping(deps: PanelDeps, webviewPanel: vscode.WebviewPanel, state: MappingViewState | undefined): void {
  MappingPanel.current?.dispose();
  const panel = (MappingPanel.current = new MappingPanel(webviewPanel, deps));
  if (state?.configPath && existsSync(state.configPath)) void panel.load(vscode.Uri.file(state.configPath));
}
