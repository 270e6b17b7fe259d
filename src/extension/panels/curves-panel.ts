// The training curves panel's host. It lists the runs under the runs folder, reads a run's
// metrics.jsonl when the webview asks for it, and keeps every selected run's rows in memory,
// so rows that arrive live while the panel is hidden are held (not dropped) and a re-shown or
// restored webview gets them all with its "ready". Visible panels get appends at ≤ 10 per second.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CURVES_VIEW_TYPE, CurvesToHost, CurvesToWebview, CurvesView, CurvesViewState, EvalColumns, RunAppend, RunInfo, RunSeries, TrainColumns } from '../../webview-contract';
import type { PanelDeps, TrainingEvent } from './deps';
import { PanelHost } from './panel-host';
import { emptyEval, emptyTrain, goneRunDirs, listRuns, readRunInfo, readRunSeries } from './run-files';
import { defaultRunsDir } from './runs-dir';

const FLUSH_MS = 100;

interface CachedRun {
  info: RunInfo;
  train: TrainColumns;
  eval: EvalColumns;
  skipped: number;
}

/** `run` with the rows metrics.jsonl holds (every step) and its run.json's info; `run` itself when unreadable. */
function reread(runDir: string, run: CachedRun): CachedRun {
  const read = readRunSeries(runDir);
  return read ? { info: { ...run.info, ...read.info }, train: read.train, eval: read.eval, skipped: read.skipped } : run;
}

interface LiveRun {
  readonly runDir: string;
  info: RunInfo;
}

/** Runs the trainer told us about (runId → folder): progress notifications name only the runId. */
const liveRuns = new Map<string, LiveRun>();

function appendOf(runDir: string): RunAppend & { train: TrainColumns; eval: EvalColumns } {
  return { runDir, train: emptyTrain(), eval: emptyEval() };
}

function concat<T extends object>(into: T, from: T): void {
  for (const k of Object.keys(from) as (keyof T)[]) (into[k] as unknown as number[]).push(...(from[k] as unknown as number[]));
}

class CurvesPanel {
  static current: CurvesPanel | undefined;
  private readonly host: PanelHost<CurvesToWebview, CurvesToHost>;
  /** Every run the webview shows, with all its rows (disk + live). */
  private readonly cache = new Map<string, CachedRun>();
  private readonly selected = new Set<string>();
  /** Rows not yet posted (the webview is hidden, or the next flush is pending). */
  private pending = new Map<string, RunAppend & { train: TrainColumns; eval: EvalColumns }>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(panel: vscode.WebviewPanel, private readonly deps: PanelDeps) {
    this.host = new PanelHost<CurvesToWebview, CurvesToHost>(
      panel,
      { extensionUri: deps.extensionUri, bundle: 'webview-curves', title: 'Training Curves', label: 'RPG training curves' },
      (m) => this.onMessage(m),
      (e) => deps.log(`training curves: ${e instanceof Error ? e.message : String(e)}`),
      () => {
        clearTimeout(this.flushTimer);
        if (CurvesPanel.current === this) CurvesPanel.current = undefined;
      },
    );
    panel.onDidChangeViewState(() => {
      if (panel.visible) this.scheduleFlush();
    });
  }

  private runsDir(): string | undefined {
    return this.deps.runsDir?.() ?? defaultRunsDir();
  }

  reveal(): void {
    this.host.panel.reveal(this.host.panel.viewColumn ?? vscode.ViewColumn.Beside);
  }

  /** Switches the webview to a tab (after a sweep: the DoF view), with a fresh run list. */
  showView(view: CurvesView): void {
    void this.sendRuns();
    this.host.post({ type: 'view', view });
  }

  /** Adds runs to the selection (from the Experiments tree). */
  select(runDirs: readonly string[]): void {
    const dirs = runDirs.map((d) => path.resolve(d));
    for (const d of dirs) this.selected.add(d);
    this.host.post({ type: 'select', runDirs: dirs });
  }

  private async onMessage(m: CurvesToHost): Promise<void> {
    switch (m.type) {
      case 'ready': {
        // A fresh webview has nothing: send the list and every selected run, pending rows included.
        for (const d of m.state?.selected ?? []) this.selected.add(d);
        this.pending.clear();
        void this.sendRuns();
        this.sendSeries([...this.selected]);
        // Runs asked for before the webview was ready (showTrainingCurves on a new panel) join its selection.
        if (this.selected.size) this.host.post({ type: 'select', runDirs: [...this.selected] });
        return;
      }
      case 'refreshRuns':
        void this.sendRuns();
        return;
      case 'loadRuns':
        for (const d of m.runDirs) this.selected.add(d);
        this.sendSeries(m.runDirs);
        return;
      case 'exportPng':
        await this.save(m.suggestedName, { 'PNG image': ['png'] }, Buffer.from(m.dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'), 'png');
        return;
      case 'exportCsv':
        await this.save(m.suggestedName, { 'CSV': ['csv'] }, Buffer.from(m.csv, 'utf8'), 'csv');
        return;
    }
  }

  private async sendRuns(): Promise<void> {
    const runsDir = this.runsDir();
    const runs = runsDir ? await listRuns(runsDir) : [];
    // Runs whose folder was deleted since they were loaded: out of the cache, the selection and the webview.
    const gone = goneRunDirs(this.cache.keys());
    for (const dir of gone) {
      this.cache.delete(dir);
      this.selected.delete(dir);
      this.pending.delete(dir);
    }
    if (gone.length) this.host.post({ type: 'removed', runDirs: gone });
    const known = new Set(runs.map((r) => r.runDir));
    // Runs outside the runs folder (picked from elsewhere) still appear.
    for (const c of this.cache.values()) if (!known.has(c.info.runDir)) runs.push(c.info);
    for (const l of liveRuns.values()) if (!known.has(l.runDir) && !this.cache.has(l.runDir) && existsSync(l.runDir)) runs.push(l.info);
    this.host.post({ type: 'runs', runs, ...(runsDir ? { runsDir } : {}) });
  }

  private sendSeries(runDirs: readonly string[]): void {
    const series: RunSeries[] = [];
    for (const dir of runDirs) {
      let entry = this.cache.get(dir);
      if (!entry) {
        const read = readRunSeries(dir);
        if (!read) continue;
        entry = { info: read.info, train: read.train, eval: read.eval, skipped: read.skipped };
        this.cache.set(dir, entry);
      }
      this.pending.delete(dir);
      series.push({ ...entry });
    }
    const missing = runDirs.filter((d) => !this.cache.has(d));
    if (missing.length) this.host.post({ type: 'error', message: `No run.json in ${missing.join(', ')}` });
    this.host.post({ type: 'series', series });
  }

  /** Live rows of a run: into the cache (always) and the next append (when the webview shows the run). */
  onRows(runDir: string, rows: { train?: TrainColumns; eval?: EvalColumns; status?: RunInfo['status']; bestAcc?: number }): void {
    const entry = this.cache.get(runDir);
    if (!entry) return; // not shown: its metrics.jsonl has every row when it is picked
    if (rows.train) concat(entry.train, rows.train);
    if (rows.eval) concat(entry.eval, rows.eval);
    if (rows.status) entry.info = { ...entry.info, status: rows.status };
    if (rows.bestAcc !== undefined) entry.info = { ...entry.info, bestAcc: rows.bestAcc };
    const p = this.pending.get(runDir) ?? appendOf(runDir);
    if (rows.train) concat(p.train, rows.train);
    if (rows.eval) concat(p.eval, rows.eval);
    this.pending.set(runDir, { ...p, ...(rows.status ? { status: rows.status } : {}), ...(rows.bestAcc !== undefined ? { bestAcc: rows.bestAcc } : {}) });
    this.scheduleFlush();
  }

  /** A run started: list it, and show it when the webview shows live runs. */
  onStarted(run: LiveRun): void {
    const entry = reread(run.runDir, { info: run.info, train: emptyTrain(), eval: emptyEval(), skipped: 0 });
    this.cache.set(run.runDir, entry);
    this.selected.add(run.runDir);
    void this.sendRuns();
    this.host.post({ type: 'series', series: [{ ...entry }] });
    this.host.post({ type: 'select', runDirs: [run.runDir] });
  }

  /**
   * A run ended: its rows are read again from metrics.jsonl, which has every step (the live
   * rows are thinned to ≤ 10 a second by the trainer), so the finished run's curves and its CSV
   * export hold all of them.
   */
  onEnded(runDir: string, ended: { status: RunInfo['status']; bestAcc?: number; finalAcc?: number }): void {
    const cached = this.cache.get(runDir);
    if (!cached) return;
    const entry = reread(runDir, cached);
    entry.info = { ...entry.info, ...ended };
    this.cache.set(runDir, entry);
    this.pending.delete(runDir); // the rows just read include them
    this.host.post({ type: 'series', series: [{ ...entry }] });
  }

  private scheduleFlush(): void {
    if (this.flushTimer || !this.pending.size) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (!this.host.live) return; // hidden: rows stay in the cache; "ready" sends them
      const appends = [...this.pending.values()];
      this.pending = new Map();
      this.host.post({ type: 'append', appends });
    }, FLUSH_MS);
  }

  private async save(name: string, filters: Record<string, string[]>, data: Buffer, what: 'png' | 'csv'): Promise<void> {
    // Next to the runs; the workspace folder while there is no runs folder yet (the dialog
    // would otherwise propose a file in a folder that does not exist).
    const runsDir = this.runsDir();
    const dir = runsDir && existsSync(runsDir) ? runsDir : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const target = await vscode.window.showSaveDialog({ title: `Export ${what.toUpperCase()}`, filters, ...(dir ? { defaultUri: vscode.Uri.file(path.join(dir, name)) } : {}) });
    if (!target) return;
    if (target.scheme === 'file') await writeFile(target.fsPath, data);
    else await vscode.workspace.fs.writeFile(target, data);
    this.deps.log(`training curves: exported ${what} to ${target.fsPath}`);
    this.host.post({ type: 'exported', what, path: target.fsPath });
    // Say so where the user looks: a notification that opens or reveals the file.
    void this.deps.notify?.(`Saved ${what.toUpperCase()} to ${target.fsPath}`, 'Open', 'Reveal in Explorer').then((a) => {
      if (a === 'Open') void vscode.commands.executeCommand('vscode.open', target);
      if (a === 'Reveal in Explorer') void vscode.commands.executeCommand('revealFileInOS', target);
    });
  }

  dispose(): void {
    this.host.dispose();
  }
}

function ensurePanel(deps: PanelDeps, webviewPanel?: vscode.WebviewPanel): CurvesPanel {
  if (webviewPanel) {
    CurvesPanel.current?.dispose();
    return (CurvesPanel.current = new CurvesPanel(webviewPanel, deps));
  }
  if (CurvesPanel.current) {
    CurvesPanel.current.reveal();
    return CurvesPanel.current;
  }
  const panel = vscode.window.createWebviewPanel(CURVES_VIEW_TYPE, 'Training Curves', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {});
  return (CurvesPanel.current = new CurvesPanel(panel, deps));
}

export async function showTrainingCurves(deps: PanelDeps, runDirs?: string[], view?: CurvesView): Promise<void> {
  const panel = ensurePanel(deps);
  if (runDirs?.length) panel.select(runDirs);
  if (view) panel.showView(view);
}

/** After a restart: adopt the restored panel (its webview's "ready" carries the selection). */
export function reviveTrainingCurves(deps: PanelDeps, webviewPanel: vscode.WebviewPanel, _state: CurvesViewState | undefined): void {
  ensurePanel(deps, webviewPanel);
}

const one = <T>(v: T): T[] => [v];

/** Feeds the curves panel from the trainer's notifications; safe to call with no panel open. */
export function postTrainingEvent(e: TrainingEvent): void {
  const panel = CurvesPanel.current;
  switch (e.kind) {
    case 'started': {
      const runDir = path.resolve(e.runDir);
      const fromDisk = readRunInfo(runDir);
      const info: RunInfo = fromDisk ?? {
        runDir, runId: e.runId, name: path.basename(path.dirname(runDir)), arch: e.summary.arch, dataset: '?',
        dof: e.summary.dof, ringSize: e.summary.ringSize, status: 'running',
      };
      const run = { runDir, info: { ...info, status: 'running' as const } };
      liveRuns.set(e.runId, run);
      panel?.onStarted(run);
      return;
    }
    case 'progress': {
      const run = liveRuns.get(e.runId);
      if (run) panel?.onRows(run.runDir, { train: { step: one(e.step), epoch: one(e.epoch), loss: one(e.loss), acc: one(e.acc), lr: one(e.lr), samplesPerSec: one(e.samplesPerSec), time: one(e.time) } });
      return;
    }
    case 'evaluated': {
      const run = liveRuns.get(e.runId);
      if (run) panel?.onRows(run.runDir, { eval: { step: one(e.step), epoch: one(e.epoch), loss: one(e.loss), acc: one(e.acc), time: one(e.time) } });
      return;
    }
    case 'finished': {
      const run = liveRuns.get(e.runId);
      if (run) {
        run.info = { ...run.info, status: e.status, bestAcc: e.bestAcc, finalAcc: e.finalAcc };
        panel?.onEnded(run.runDir, { status: e.status, bestAcc: e.bestAcc, finalAcc: e.finalAcc });
      }
      return;
    }
    case 'failed': {
      const run = liveRuns.get(e.runId);
      if (run) {
        run.info = { ...run.info, status: 'failed' };
        panel?.onEnded(run.runDir, { status: 'failed' });
      }
      return;
    }
    default:
      return;
  }
}
