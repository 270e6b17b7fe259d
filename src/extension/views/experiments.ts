// The Experiments view: every .rpg.json config of the workspace, and under each its runs with
// status, best accuracy, DoF and duration. Runs whose config is gone are listed apart.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hostname } from 'node:os';
import { count, duration, epochOf, percent } from '../format';
import type { ConfigEntry, RunInfo, RunsModel } from '../runs';
import { escapeMarkdown } from '../status';

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
  // The best run by its final test accuracy (what a run reports; its best epoch is in its tooltip).
  const top = Math.max(0, ...runs.map((r) => r.record?.finalAcc ?? 0));
  item.description = [runs.length ? `${runs.length} run${runs.length === 1 ? '' : 's'}` : '', top > 0 ? `top ${percent(top)} test` : '', rel].filter(Boolean).join(' · ');
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
  const [icon, color] = run.elsewhere ? ['remote', 'charts.blue'] : run.interrupted ? ['debug-disconnect', 'charts.yellow'] : (STATUS_ICONS[run.status] ?? STATUS_ICONS.failed);
  item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
  item.description = runDescription(run);
  item.tooltip = runTooltip(run);
  const resumable = run.hasCheckpoint && (run.status === 'stopped' || run.status === 'failed');
  item.contextValue = run.elsewhere ? 'run.elsewhere' : `run.${run.status}${resumable ? '.resumable' : ''}`;
  const label = typeof item.label === 'string' ? item.label : '';
  item.accessibilityInformation = { label: `${run.name} run ${label}, ${item.description}` };
  if (run.dir) item.command = { command: 'rpg.showTrainingCurves', title: 'Show Training Curves', arguments: [run] };
  return item;
}

/**
 * What a narrow sidebar must still show, first: the run's final test accuracy (or where it
 * stands while it trains, or why it ended). The start time goes last, in the description.
 */
export function runLabel(run: RunInfo): string {
  const r = run.record;
  if (run.elsewhere) return 'running elsewhere';
  if (run.status === 'queued') return 'queued';
  if (run.status === 'running') return run.live ? `${epochOf(run.live.epoch, run.live.totalEpochs)} · ${percent(run.live.progress, 0)}` : 'starting';
  if (r?.finalAcc !== undefined) return `${percent(r.finalAcc)} test${run.status === 'finished' ? '' : ` · ${run.interrupted ? 'interrupted' : run.status}`}`;
  return `${run.interrupted ? 'interrupted' : run.status} at step ${count(r?.step ?? 0)}`;
}

/** "2026-11-28 23:10" from the engine's run id, else the id as it is. */
function startedLabel(run: RunInfo): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})/.exec(run.runId);
  return m ? `${m[1]} ${m[2]}:${m[3]}` : run.runId;
}

export function runDescription(run: RunInfo): string {
  if (run.status === 'queued') return startedLabel(run);
  const r = run.record;
  if (run.elsewhere) {
    const where = run.elsewhere.hostname === hostname() ? `pid ${run.elsewhere.pid}` : `pid ${run.elsewhere.pid} on ${run.elsewhere.hostname}`;
    return [`step ${count(r?.step ?? 0)}`, where, startedLabel(run)].join(' · ');
  }
  if (run.status === 'running') {
    const live = run.live;
    const backend = live?.backend ?? r?.backend;
    return [live ? `${count(live.samplesPerSec)} samples/s` : '', live && live.etaSeconds > 0 ? `${duration(live.etaSeconds)} left` : '', backend ?? '', startedLabel(run)].filter(Boolean).join(' · ');
  }
  const parts: string[] = [];
  if (run.evaluation) parts.push(`eval ${percent(run.evaluation.acc)}`);
  if (run.artifacts?.length) parts.push(run.artifacts.map((a) => (a.endsWith('.rpgz') ? '.rpgz' : 'tfjs')).filter((v, i, all) => all.indexOf(v) === i).join('+'));
  if (r?.dof) parts.push(`DoF ${count(r.dof)}`);
  if (r?.durationSec !== undefined && r.durationSec > 0) parts.push(duration(r.durationSec));
  parts.push(startedLabel(run));
  return parts.join(' · ');
}

function runTooltip(run: RunInfo): vscode.MarkdownString {
  const r = run.record;
  // Every value from run.json is escaped: a record is data, never markup.
  const e = (v: unknown) => escapeMarkdown(String(v));
  const md = new vscode.MarkdownString('', true);
  md.appendMarkdown(`**${e(run.name)}** — ${run.elsewhere ? 'running elsewhere' : run.interrupted ? 'interrupted' : run.status}  \n`);
  md.appendText(run.runId);
  md.appendMarkdown('\n\n');
  if (r) {
    md.appendMarkdown(`| | |\n|---|---|\n`);
    md.appendMarkdown(`| model | ${e(r.arch)} on ${e(r.dataset)} |\n`);
    md.appendMarkdown(`| DoF | ${e(count(r.dof))} of ${e(count(r.totalParams))} (ring ${e(count(r.ringSize))}) |\n`);
    md.appendMarkdown(`| backend | ${e(r.backend)}${r.device ? ` (${e(r.device)})` : ''} |\n`);
    md.appendMarkdown(`| steps | ${e(count(r.step))} (epoch ${e(Number(r.epoch.toFixed(2)))}) |\n`);
    if (r.finalAcc !== undefined) md.appendMarkdown(`| test accuracy (final) | ${e(percent(r.finalAcc, 2))} |\n`);
    if (r.bestAcc !== undefined) md.appendMarkdown(`| test accuracy (best epoch) | ${e(percent(r.bestAcc, 2))} |\n`);
    md.appendMarkdown(`| duration | ${e(duration(r.durationSec))} |\n`);
    md.appendMarkdown(`| checkpoint | ${run.hasCheckpoint ? `step ${e(count(r.checkpointStep ?? r.step))}` : 'none'} |\n`);
    if (run.evaluation) md.appendMarkdown(`| evaluated | test accuracy ${e(percent(run.evaluation.acc, 2))}, loss ${e(run.evaluation.loss.toFixed(4))} |\n`);
    if (run.artifacts?.length) md.appendMarkdown(`| made from it | ${run.artifacts.map(e).join(', ')} |\n`);
  }
  if (run.elsewhere) {
    md.appendMarkdown('\n$(remote) ');
    md.appendText(`Trained by process ${run.elsewhere.pid} on ${run.elsewhere.hostname === hostname() ? 'this machine' : run.elsewhere.hostname} (a CLI, another window, another host) since ${run.elsewhere.startedAt}: stop it there.`);
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
