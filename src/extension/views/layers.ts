// The Layers view: the plan of the config in the active editor, planned in this process (core/experiment/planning)
// from the unsaved text. Totals first, then every generated layer (shape, params, ring slices,
// reuse, scale), then the free parameters apart. Follows the active editor and its edits.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PlanLayer, PlanResult } from '../../core/experiment/types';
import { count, percent, ratio, shape } from '../format';
import { isConfigDocument, PlanOutcome, PlanService } from '../plans';

export type LayerNode =
  | { readonly kind: 'totals'; readonly plan: PlanResult }
  | { readonly kind: 'group'; readonly group: 'generated' | 'free'; readonly plan: PlanResult }
  | { readonly kind: 'layer'; readonly layer: PlanLayer; readonly plan: PlanResult }
  | { readonly kind: 'free'; readonly param: PlanResult['free'][number] }
  | { readonly kind: 'detail'; readonly label: string; readonly value: string; readonly id: string; readonly tooltip?: string }
  | { readonly kind: 'message'; readonly label: string; readonly detail?: string; readonly icon: string };

export class LayersTree implements vscode.TreeDataProvider<LayerNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<LayerNode | undefined>();
  private readonly disposables: vscode.Disposable[] = [];
  private document: vscode.TextDocument | undefined;
  private view: vscode.TreeView<LayerNode> | undefined;
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly plans: PlanService) {
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((e) => this.follow(e?.document)),
      plans.onDidChangePlan((uri) => {
        if (this.document && uri.toString() === this.document.uri.toString()) this.changed.fire(undefined);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (d === this.document) this.follow(undefined);
      }),
    );
    this.follow(vscode.window.activeTextEditor?.document);
  }

  attach(view: vscode.TreeView<LayerNode>): void {
    this.view = view;
    this.updateTitle();
  }

  /** The config shown (the last active .rpg.json editor). */
  get documentUri(): vscode.Uri | undefined {
    return this.document?.uri;
  }

  /** The plan shown, computing it if needed (tests and commands use this). */
  async currentPlan(): Promise<PlanOutcome | undefined> {
    return this.document ? this.plans.get(this.document) : undefined;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }

  /** Shows the config of `document` (kept when focus moves to a non-config editor or a panel). */
  follow(document: vscode.TextDocument | undefined): void {
    if (document && !isConfigDocument(document)) return;
    if (document === this.document) return;
    this.document = document;
    this.updateTitle();
    this.changed.fire(undefined);
  }

  getChildren(node?: LayerNode): LayerNode[] | Thenable<LayerNode[]> {
    if (!node) return this.roots();
    switch (node.kind) {
      case 'totals':
        return totalsDetails(node.plan);
      case 'group':
        return node.group === 'generated'
          ? node.plan.layers.map((layer) => ({ kind: 'layer', layer, plan: node.plan }))
          : node.plan.free.map((param) => ({ kind: 'free', param }));
      case 'layer':
        return layerDetails(node.layer, node.plan);
      default:
        return [];
    }
  }

  getParent(node: LayerNode): LayerNode | undefined {
    if (node.kind === 'layer') return { kind: 'group', group: 'generated', plan: node.plan };
    return undefined;
  }

  getTreeItem(node: LayerNode): vscode.TreeItem {
    const { Collapsed, Expanded, None } = vscode.TreeItemCollapsibleState;
    switch (node.kind) {
      case 'totals': {
        const s = node.plan.summary;
        const item = new vscode.TreeItem('Totals', Expanded);
        item.id = 'totals';
        item.iconPath = new vscode.ThemeIcon('symbol-numeric');
        item.description = `${count(s.totalParams)} params · DoF ${count(s.dof)} · ${ratio(s.compression)} smaller`;
        return item;
      }
      case 'group': {
        const generated = node.group === 'generated';
        const n = generated ? node.plan.layers.length : node.plan.free.length;
        const params = generated ? node.plan.summary.generatedParams : node.plan.summary.freeParams;
        const item = new vscode.TreeItem(generated ? 'Generated layers' : 'Free parameters', generated ? Expanded : Collapsed);
        item.id = `group:${node.group}`;
        item.iconPath = new vscode.ThemeIcon(generated ? 'symbol-array' : 'symbol-variable');
        item.description = `${n} · ${count(params)} params${generated && node.plan.ringSize ? ` from a ring of ${count(node.plan.ringSize)}` : ''}`;
        item.tooltip = generated ? 'Weights generated from the ring: each layer fetches a slice of the ring, permutes it and scales it.' : 'Parameters trained directly (biases, BatchNorm, and layers kept free).';
        return item;
      }
      case 'layer': {
        const l = node.layer;
        const item = new vscode.TreeItem(l.name, Collapsed);
        item.id = `layer:${l.name}`;
        item.iconPath = new vscode.ThemeIcon(l.kind === 'conv' ? 'symbol-structure' : 'symbol-field');
        item.description = `${shape(l.shape)} · ${count(l.params)} params · reuse ${ratio(l.reuse)}`;
        item.tooltip = `${l.layer} (${l.kind}) — ${ringSlices(l, node.plan.ringSize)}`;
        item.contextValue = 'layer';
        return item;
      }
      case 'free': {
        const item = new vscode.TreeItem(node.param.name, None);
        item.id = `free:${node.param.name}`;
        item.iconPath = new vscode.ThemeIcon('symbol-variable');
        item.description = `${shape(node.param.shape)} · ${count(node.param.params)} params · ${node.param.kind}`;
        return item;
      }
      case 'detail': {
        const item = new vscode.TreeItem(node.label, None);
        item.id = node.id;
        item.description = node.value;
        item.tooltip = node.tooltip ?? `${node.label}: ${node.value}`;
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.label, None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        if (node.detail) {
          item.description = node.detail;
          item.tooltip = node.detail;
        }
        return item;
      }
    }
  }

  private async roots(): Promise<LayerNode[]> {
    const document = this.document;
    if (!document) return [];
    // While a new plan is computed, keep showing the last one (no flicker while typing).
    const outcome = this.plans.peek(document) ?? this.plans.latest(document) ?? (await this.plans.get(document));
    if (this.plans.peek(document) === undefined) void this.plans.get(document);
    const problem = outcome.ok ? undefined : outcome.field ? `${outcome.field}: ${outcome.message}` : outcome.message;
    if (!outcome.ok && !outcome.stale) return [{ kind: 'message', label: 'No plan for this config', detail: problem, icon: 'warning' }];
    // A typo or a half-typed edit: the last plan that worked stays, marked stale, with the reason.
    const plan = outcome.ok ? outcome.plan : outcome.stale!;
    const nodes: LayerNode[] = outcome.ok ? [] : [{ kind: 'message', label: 'Stale plan (the config has an error)', detail: problem, icon: 'warning' }];
    nodes.push({ kind: 'totals', plan });
    if (plan.layers.length) nodes.push({ kind: 'group', group: 'generated', plan });
    else nodes.push({ kind: 'message', label: 'No generated layers', detail: plan.mode === 'plain' ? 'rpg.enabled is false: the plain model trains every weight' : undefined, icon: 'info' });
    if (plan.free.length) nodes.push({ kind: 'group', group: 'free', plan });
    return nodes;
  }

  private updateTitle(): void {
    if (this.view) this.view.description = this.document ? path.basename(this.document.uri.fsPath) : undefined;
  }
}

function totalsDetails(plan: PlanResult): LayerNode[] {
  const s = plan.summary;
  const rows: [string, string][] = [
    ['architecture', s.arch],
    ['mode', plan.mode],
    ['parameters', count(s.totalParams)],
    ['generated', `${count(s.generatedParams)} (${percent(s.totalParams ? s.generatedParams / s.totalParams : 0)})`],
    ['free', count(s.freeParams)],
    ['ring size', plan.ringSize ? `${count(plan.ringSize)} (${percent(s.ringFraction, 2)} of generated)` : '–'],
    ['DoF', `${count(s.dof)} (${percent(s.dofFraction, 2)} of parameters)`],
    ['reuse N/M', plan.ringSize ? ratio(s.reuse) : '–'],
    ['seed', String(plan.seed)],
  ];
  if (plan.hash) rows.push(['plan hash', plan.hash]);
  return rows.map(([label, value]) => ({ kind: 'detail', label, value, id: `totals:${label}` }));
}

function layerDetails(l: PlanLayer, plan: PlanResult): LayerNode[] {
  const id = (k: string) => `layer:${l.name}:${k}`;
  return [
    { kind: 'detail', label: 'shape', value: `${shape(l.shape)} (${l.kind})`, id: id('shape') },
    { kind: 'detail', label: 'params', value: count(l.params), id: id('params') },
    { kind: 'detail', label: 'ring slices', value: ringSlices(l, plan.ringSize), id: id('slices'), tooltip: 'Ring entries fetched (before the layer\'s fixed permutation), half-open ranges with wrap-around.' },
    { kind: 'detail', label: 'reuse', value: `${ratio(l.reuse)} (${count(l.distinctEntries)} distinct ring entries)`, id: id('reuse') },
    { kind: 'detail', label: 'scale', value: l.scale.toPrecision(4), id: id('scale'), tooltip: `Fixed per-layer scale; init std ${l.initStd.toPrecision(4)}` },
    { kind: 'detail', label: 'ring offset', value: count(l.offset), id: id('offset') },
  ];
}

/** "[0, 2,541) ×9 + [0, 1,234)": the ring ranges a layer fetches. */
export function ringSlices(l: PlanLayer, ringSize: number): string {
  if (!l.spans.length && !l.fullWraps) return ringSize ? 'shuffled: entries spread over the whole ring' : '–';
  const spans = l.spans.map((s) => `[${count(s.start)}, ${count(s.end)})`);
  const wraps = l.fullWraps ? `whole ring ×${l.fullWraps}${spans.length ? ' + ' : ''}` : '';
  return wraps + spans.join(' + ');
}
