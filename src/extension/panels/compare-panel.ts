// The Compare Runs panel's host: the Experiments table of every run the extension knows
// (RunsModel, which scans the runs folders with the core's scanRuns and hears the trainer's
// events), kept live: after the first full list only the rows that changed are posted. Its
// buttons reach the existing commands (curves, open folder, resume, delete) and the save dialog.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMPARE_VIEW_TYPE, CompareRow, CompareToHost, CompareToWebview, CompareViewState } from '../../webview-contract';
import { compareRow, compareRows, MetricsTails } from './compare-rows';
import { showTrainingCurves } from './curves-panel';
import type { PanelDeps, RunsSource } from './deps';
import { PanelHost } from './panel-host';
import { defaultRunsDir } from './runs-dir';

/** Live runs change every few hundred ms: the table takes at most this many updates a second. */
const UPDATE_MS = 500;

class ComparePanel {
  static current: ComparePanel | undefined;
  private readonly host: PanelHost<CompareToWebview, CompareToHost>;
  private readonly tails = new MetricsTails();
  /** What the webview has, by run folder: a row's JSON as last posted. */
  private sent = new Map<string, string>();
  private updating: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscription: vscode.Disposable | undefined;

  constructor(panel: vscode.WebviewPanel, private readonly deps: PanelDeps) {
    this.host = new PanelHost<CompareToWebview, CompareToHost>(
      panel,
      { extensionUri: deps.extensionUri, bundle: 'webview-compare', title: 'Compare Runs', label: 'RPG runs table' },
      (m) => this.onMessage(m),
      (e) => deps.log(`compare runs: ${e instanceof Error ? e.message : String(e)}`),
      () => {
        clearTimeout(this.timer);
        this.subscription?.dispose();
        if (ComparePanel.current === this) ComparePanel.current = undefined;
      },
    );
    this.subscription = deps.runs?.onDidChange(() => this.schedule());
  }

  private get runs(): RunsSource | undefined {
    return this.deps.runs;
  }

  reveal(): void {
    this.host.panel.reveal(this.host.panel.viewColumn ?? vscode.ViewColumn.Active);
  }

  private async onMessage(m: CompareToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        // A fresh (or reloaded) webview has nothing: the whole list, then a rescan's changes.
        this.sent = new Map();
        this.schedule(0);
        void this.runs?.refresh();
        return;
      case 'refresh':
        await this.runs?.refresh();
        this.schedule(0);
        return;
      case 'showCurves':
        await showTrainingCurves(this.deps, [...m.runDirs]);
        return;
      case 'openFolder':
        await vscode.commands.executeCommand('rpg.openRunFolder', m.runDir);
        return;
      case 'resume':
        await vscode.commands.executeCommand('rpg.resume', m.runDir);
        return;
      case 'delete':
        // The existing command: it refuses a run that trains or is not in a known runs folder and asks first.
        for (const dir of m.runDirs) await vscode.commands.executeCommand('rpg.deleteRun', dir);
        return;
      case 'exportCsv':
        await this.save(m.suggestedName, { CSV: ['csv'] }, Buffer.from(m.csv, 'utf8'), 'csv');
        return;
      case 'exportSvg':
        await this.save(m.suggestedName, { 'SVG image': ['svg'] }, Buffer.from(m.svg, 'utf8'), 'svg');
        return;
      case 'exportPng':
        await this.save(m.suggestedName, { 'PNG image': ['png'] }, Buffer.from(m.dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'), 'png');
        return;
    }
  }

  /** An update soon: at most one pending, UPDATE_MS apart. */
  private schedule(delayMs = UPDATE_MS): void {
    if (this.timer) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.update();
    }, delayMs);
  }

  /** Posts the rows that changed since the last post (all of them to a fresh webview). */
  private update(): Promise<void> {
    if (this.updating) {
      this.again = true;
      return this.updating;
    }
    this.updating = (async () => {
      try {
        // Hidden: nothing to post; "ready" sends everything when it shows again.
        if (!this.host.live) return;
        const sources = this.runs?.runs ?? [];
        if (this.sent.size === 0) {
          // A fresh webview gets every run at once from the records the model holds; the
          // metrics (one file read per run, seconds for 1,000 runs on a busy disk) follow as updates.
          const quick = sources.filter((r) => r.dir).map((r) => compareRow(r, undefined, undefined));
          this.host.post({ type: 'rows', rows: quick, runsDirs: this.runsDirs() });
          this.sent = new Map(quick.map((r) => [r.runDir, JSON.stringify(r)]));
        }
        const rows = await compareRows(sources, this.tails);
        const next = new Map(rows.map((r) => [r.runDir, JSON.stringify(r)]));
        const changed = rows.filter((r) => this.sent.get(r.runDir) !== next.get(r.runDir));
        const removed = [...this.sent.keys()].filter((d) => !next.has(d));
        if (changed.length) this.host.post({ type: 'upsert', rows: changed });
        if (removed.length) this.host.post({ type: 'remove', runDirs: removed });
        this.sent = next;
      } catch (err) {
        this.deps.log(`compare runs: ${(err as Error).message}`);
        this.host.post({ type: 'error', message: `Could not read the runs: ${(err as Error).message}` });
      } finally {
        this.updating = undefined;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      }
    })();
    return this.updating;
  }

  private runsDirs(): string[] {
    const dir = this.deps.runsDir?.() ?? defaultRunsDir();
    return dir ? [dir] : [];
  }

  private async save(name: string, filters: Record<string, string[]>, data: Buffer, what: 'csv' | 'svg' | 'png'): Promise<void> {
    const runsDir = this.runsDirs()[0];
    const dir = runsDir && existsSync(runsDir) ? runsDir : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const target = await vscode.window.showSaveDialog({ title: `Export ${what.toUpperCase()}`, filters, ...(dir ? { defaultUri: vscode.Uri.file(path.join(dir, name)) } : {}) });
    if (!target) return;
    if (target.scheme === 'file') await writeFile(target.fsPath, data);
    else await vscode.workspace.fs.writeFile(target, data);
    this.deps.log(`compare runs: exported ${what} to ${target.fsPath}`);
    this.host.post({ type: 'exported', what, path: target.fsPath });
  }

  dispose(): void {
    this.host.dispose();
  }
}

function ensurePanel(deps: PanelDeps, webviewPanel?: vscode.WebviewPanel): ComparePanel {
  if (webviewPanel) {
    ComparePanel.current?.dispose();
    return (ComparePanel.current = new ComparePanel(webviewPanel, deps));
  }
  if (ComparePanel.current) {
    ComparePanel.current.reveal();
    return ComparePanel.current;
  }
  const panel = vscode.window.createWebviewPanel(COMPARE_VIEW_TYPE, 'Compare Runs', { viewColumn: vscode.ViewColumn.Active }, {});
  return (ComparePanel.current = new ComparePanel(panel, deps));
}

/** Opens (or shows) the Experiments table. */
export function showCompareRuns(deps: PanelDeps): void {
  ensurePanel(deps);
}

/** After a restart: adopt the restored panel (its webview's "ready" carries its state). */
export function reviveCompareRuns(deps: PanelDeps, webviewPanel: vscode.WebviewPanel, _state: CompareViewState | undefined): void {
  ensurePanel(deps, webviewPanel);
}

export type { CompareRow };
