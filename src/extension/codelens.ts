// CodeLenses above a config: "Train" (or "Stop" while it trains) and the plan's numbers
// ("Plan: 25,450 params, DoF 2,583"), which open the Layers view.
import * as vscode from 'vscode';
import { count, ratio } from './format';
import type { PlanService } from './plans';
import type { RunsModel } from './runs';

export class ConfigCodeLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[];
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(
    private readonly plans: PlanService,
    private readonly runs: RunsModel,
  ) {
    this.disposables = [plans.onDidChangePlan(() => this.changed.fire()), runs.onDidChange(() => this.changed.fire())];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const line = firstBraceLine(document);
    const range = new vscode.Range(line, 0, line, 0);
    const entry = this.runs.configFor(document.uri);
    const training = entry ? this.runs.runsOf(entry).some((r) => (r.status === 'running' || r.status === 'queued') && !r.elsewhere) : false;
    const train = training
      ? new vscode.CodeLens(range, { title: '$(debug-stop) Stop', command: 'rpg.stop', arguments: [document.uri], tooltip: 'Stop the runs of this config (they write a checkpoint)' })
      : new vscode.CodeLens(range, { title: '$(play) Train', command: 'rpg.train', arguments: [document.uri], tooltip: 'Train this config in the background' });
    const lenses = [train, new PlanLens(range, document)];
    return lenses;
  }

  async resolveCodeLens(lens: vscode.CodeLens): Promise<vscode.CodeLens> {
    if (!(lens instanceof PlanLens)) return lens;
    const outcome = await this.plans.get(lens.document);
    const plan = outcome.ok ? outcome.plan : outcome.stale;
    const numbers = plan && `${count(plan.summary.totalParams)} params, DoF ${count(plan.summary.dof)} (${ratio(plan.summary.compression)} smaller)`;
    lens.command = outcome.ok
      ? { title: `Plan: ${numbers}`, command: 'rpg.layers.focus', tooltip: 'Show the layers and their ring slices' }
      : plan
        ? { title: `$(warning) Stale plan: ${numbers}`, command: 'workbench.actions.view.problems', tooltip: `The last plan that worked; the config now has an error: ${outcome.message}` }
        : { title: '$(warning) No plan: see Problems', command: 'workbench.actions.view.problems', tooltip: outcome.message };
    return lens;
  }
}

class PlanLens extends vscode.CodeLens {
  constructor(
    range: vscode.Range,
    readonly document: vscode.TextDocument,
  ) {
    super(range);
  }
}

/** The line of the config's opening brace (after its leading comments). */
function firstBraceLine(document: vscode.TextDocument): number {
  for (let i = 0; i < Math.min(document.lineCount, 200); i++) {
    if (document.lineAt(i).text.trimStart().startsWith('{')) return i;
  }
  return 0;
}
