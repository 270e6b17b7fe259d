// The Experiments view: every .rpg.json config of the workspace, and under each its runs with
// status, best accuracy, DoF and duration. Runs whose config is gone are listed apart.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { count, duration, percent } from '../format';
import type { ConfigEntry, RunInfo, RunsModel } from '../runs';
import { escapeMarkdown, liveText } from '../status';

export type ExperimentNode =
  | { readonly kind: 'config'; readonly entry: ConfigEntry }
  | { readonly kind: 'run'; readonly run: RunInfo; readonly parent: ConfigEntry | undefined }
  | { readonly kind: 'orphans' };

export class ExperimentsTree implements vscode.TreeDataProvider<ExperimentNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ExperimentNode | undefined>();
  private readonly subscription: vscode.Disposable;
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly runs: RunsModel) {
    this.subscription = runs.onDidChange(() => this.changed.fire(undefined));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }

  getChildren(node?: ExperimentNode): ExperimentNode[] {
    if (!node) {
      const configs: ExperimentNode[] = this.runs.configs.map((entry) => ({ kind: 'config', entry }));
      return this.runs.orphanRuns().length ? [...configs, { kind: 'orphans' }] : configs;
    }
    if (node.kind === 'config') return this.runs.runsOf(node.entry).map((run) => ({ kind: 'run', run, parent: node.entry }));
    if (node.kind === 'orphans') return this.runs.orphanRuns().map((run) => ({ kind: 'run', run, parent: undefined }));
    return [];
  }

  getParent(node: ExperimentNode): ExperimentNode | undefined {
    if (node.kind !== 'run') return undefined;
    return node.parent ? { kind: 'config', entry: node.parent } : { kind: 'orphans' };
  }

  getTreeItem(node: ExperimentNode): vscode.TreeItem {
    if (node.kind === 'orphans') {
      const item = new vscode.TreeItem('Runs without a config', vscode.TreeItemCollapsibleState.Collapsed);
      item.iconPath = new vscode.ThemeIcon('archive');
      item.contextValue = 'orphans';
      item.tooltip = 'Runs whose .rpg.json is no longer in the workspace.';
      return item;
    }
    if (node.kind === 'config') return configItem(node.entry, this.runs.runsOf(node.entry));
    return runItem(node.run);
  }
}

function configItem(entry: ConfigEntry, runs: RunInfo[]): vscode.TreeItem {
  // Always expandable: an item's state is remembered by id, so one that starts without runs
  // would stay closed when its first run appears.
  const item = new vscode.TreeItem(entry.name, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `config:${entry.uri.toString()}`;
  item.resourceUri = entry.uri;
  item.iconPath = new vscode.ThemeIcon(runs.some((r) => r.status === 'running') ? 'beaker~spin' : 'beaker');
  const rel = vscode.workspace.asRelativePath(entry.uri);
  const best = Math.max(0, ...runs.map((r) => r.record?.bestAcc ?? 0));
  item.description = [rel, runs.length ? `${runs.length} run${runs.length === 1 ? '' : 's'}` : '', best > 0 ? `best ${percent(best)}` : ''].filter(Boolean).join(' · ');
  item.tooltip = `${rel}\nRuns in ${path.join(entry.runsDir, entry.name)}`;
  item.contextValue = 'config';
  item.command = { command: 'vscode.open', title: 'Open Config', arguments: [entry.uri] };
  return item;
}

const STATUS_ICONS: Record<RunInfo['status'], [string, string | undefined]> = {
  running: ['sync~spin', undefined],
  queued: ['watch', undefined],
  finished: ['pass', 'testing.iconPassed'],
  stopped: ['debug-pause', 'charts.yellow'],
  failed: ['error', 'testing.iconFailed'],
};

export function runItem(run: RunInfo): vscode.TreeItem {
  const item = new vscode.TreeItem(runLabel(run), vscode.TreeItemCollapsibleState.None);
  item.id = `run:${run.dir || run.runId}`;
  const [icon, color] = run.interrupted ? ['debug-disconnect', 'charts.yellow'] : (STATUS_ICONS[run.status] ?? STATUS_ICONS.failed);
  item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
  item.description = runDescription(run);
  item.tooltip = runTooltip(run);
  const resumable = run.hasCheckpoint && (run.status === 'stopped' || run.status === 'failed');
  item.contextValue = `run.${run.status}${resumable ? '.resumable' : ''}`;
  if (run.dir) item.command = { command: 'rpg.showTrainingCurves', title: 'Show Training Curves', arguments: [run] };
  return item;
}

/** "2026-11-28 23:10:05" from the engine's run id, else the id as it is. */
function runLabel(run: RunInfo): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})/.exec(run.runId);
  return m ? `${m[1]} ${m[2]}:${m[3]}:${m[4]}` : run.runId;
}

export function runDescription(run: RunInfo): string {
  if (run.status === 'queued') return 'queued';
  if (run.status === 'running') return liveText(run);
  const r = run.record;
  const parts: string[] = [run.interrupted ? 'interrupted' : run.status];
  if (r?.bestAcc !== undefined && r.bestAcc > 0) parts.push(`best ${percent(r.bestAcc)}`);
  if (r?.dof) parts.push(`DoF ${count(r.dof)}`);
  if (r?.durationSec !== undefined) parts.push(duration(r.durationSec));
  return parts.join(' · ');
}

function runTooltip(run: RunInfo): vscode.MarkdownString {
  const r = run.record;
  // Every value from run.json is escaped: a record is data, never markup.
  const e = (v: unknown) => escapeMarkdown(String(v));
  const md = new vscode.MarkdownString('', true);
  md.appendMarkdown(`**${e(r?.name ?? 'run')}** — ${run.interrupted ? 'interrupted' : run.status}  \n`);
  md.appendText(run.runId);
  md.appendMarkdown('\n\n');
  if (r) {
    md.appendMarkdown(`| | |\n|---|---|\n`);
    md.appendMarkdown(`| model | ${e(r.arch)} on ${e(r.dataset)} |\n`);
    md.appendMarkdown(`| DoF | ${e(count(r.dof))} of ${e(count(r.totalParams))} (ring ${e(count(r.ringSize))}) |\n`);
    md.appendMarkdown(`| backend | ${e(r.backend)} |\n`);
    md.appendMarkdown(`| steps | ${e(count(r.step))} (epoch ${e(r.epoch)}) |\n`);
    if (r.bestAcc !== undefined) md.appendMarkdown(`| best accuracy | ${e(percent(r.bestAcc, 2))} |\n`);
    if (r.finalAcc !== undefined) md.appendMarkdown(`| final accuracy | ${e(percent(r.finalAcc, 2))} |\n`);
    md.appendMarkdown(`| duration | ${e(duration(r.durationSec))} |\n`);
    md.appendMarkdown(`| checkpoint | ${run.hasCheckpoint ? 'yes' : 'none'} |\n`);
  }
  if (r?.error) {
    md.appendMarkdown('\n$(error) ');
    md.appendText(r.error.message + (r.error.field ? ` (${r.error.field})` : ''));
  }
  if (run.dir) {
    md.appendMarkdown('\n\n');
    md.appendText(run.dir);
  }
  return md;
}
