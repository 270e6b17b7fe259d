// What the extension knows about experiments and their runs: the .rpg.json configs of the
// workspace, the run folders under each runs folder (read from their run.json), and the live
// progress of runs that train right now. One model, read by the Experiments view, the status
// bar and the public API; it refreshes on file-system changes and on trainer events.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import * as vscode from 'vscode';
import { METRICS_FILE, RUN_CONFIG_FILE, RUN_FILE } from '../core/runs/layout';
import type { LockOwner } from '../core/runs/lock';
import { scanRuns, ScannedRun } from '../core/runs/scan';
import type { RunRecord, RunStatus } from '../core/runs/types';
import type { JobResult } from '../protocol';
import type { Config } from './config';
import { runOwners } from './run-ownership';
import type { RunEvent, TrainerService } from './trainer';

export interface ConfigEntry {
  readonly uri: vscode.Uri;
  /** The experiment name runs are filed under (the config's `name`, else its file name). */
  readonly name: string;
  readonly runsDir: string;
}

/** Progress of a run that is training now, from the trainer's notifications. */
export interface LiveProgress {
  readonly epoch: number;
  readonly totalEpochs: number;
  /** 0..1 */
  readonly progress: number;
  readonly samplesPerSec: number;
  readonly loss: number;
  readonly acc: number;
  readonly etaSeconds: number;
  /** Where it trains, from train/started ("wasm", "tensorflow"; device "GPU (CUDA)"). */
  readonly backend?: string;
  readonly device?: string;
}

export interface RunInfo {
  readonly runId: string;
  /** The experiment's name (the config's `name`), as every view and message names the run. */
  readonly name: string;
  readonly dir: string;
  readonly record?: RunRecord;
  readonly status: RunStatus | 'queued';
  readonly hasCheckpoint: boolean;
  readonly configPath?: string;
  /** The config relative to the run folder (run.json's configRelPath): survives a copied workspace. */
  readonly configRelPath?: string;
  readonly live?: LiveProgress;
  /**
   * The record says "running" but no process trains it (the trainer or CLI that did died):
   * shown as interrupted, with status "failed" so it can be resumed and deleted.
   */
  readonly interrupted?: boolean;
  /** Another process (a CLI, another window's trainer, another host) trains it now. */
  readonly elsewhere?: LockOwner;
  /** What was made from the run: compressed .rpgz files and exports (names in its folder). */
  readonly artifacts?: readonly string[];
  /** Its last evaluation from RPG: Evaluate Run (this session). */
  readonly evaluation?: { readonly acc: number; readonly loss: number; readonly step?: number };
}

/** Scans triggered by file events and trainer notifications are at least this far apart. */
const MIN_SCAN_INTERVAL_MS = 1000;
/** Statuses a run folder keeps once its run ended. */
const TERMINAL: ReadonlySet<RunInfo['status']> = new Set(['finished', 'stopped', 'failed']);

interface LiveRun {
  runDir?: string;
  configPath?: string;
  name?: string;
  queued: boolean;
  progress?: LiveProgress;
  backend?: string;
  device?: string;
}

const CHANGE_INTERVAL_MS = 500;

export class RunsModel implements vscode.Disposable {
  private configList: ConfigEntry[] = [];
  private runList: RunInfo[] = [];
  /** The last scan as read from disk: live progress is laid over it, never written into it. */
  private scannedList: RunInfo[] = [];
  /** Evaluations from RPG: Evaluate Run, by run folder. */
  private readonly evaluations = new Map<string, NonNullable<RunInfo['evaluation']>>();
  /** Each run's config (run-ownership.ts), recomputed with the run list. */
  private owners = new Map<RunInfo, ConfigEntry>();
  private readonly live = new Map<string, LiveRun>();
  private readonly changed = new vscode.EventEmitter<void>();
  private lastFire = 0;
  private fireTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  /** A refresh was asked for while a scan ran: one more scan follows it. */
  private rescan: Promise<void> | undefined;
  private lastScanEnd = 0;
  private refreshDue = 0;
  private watchedDirs = new Map<string, vscode.Disposable>();
  private scannedRunsDirs: string[] = [];

  /** Fires after configs or runs changed: scans are debounced, and listeners hear at most one change per CHANGE_INTERVAL_MS (fireChanged). */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly config: Config,
    private readonly trainer: TrainerService,
  ) {
    this.disposables.push(
      trainer.onRunEvent((e) => this.onRunEvent(e)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.scheduleRefresh()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('rpg.runsFolder') && this.scheduleRefresh()),
    );
    const configs = vscode.workspace.createFileSystemWatcher('**/*.rpg.json');
    this.disposables.push(configs, configs.onDidCreate(() => this.scheduleRefresh()), configs.onDidDelete(() => this.scheduleRefresh()), configs.onDidChange(() => this.scheduleRefresh()));
  }

  get configs(): readonly ConfigEntry[] {
    return this.configList;
  }

  get runs(): readonly RunInfo[] {
    return this.runList;
  }

  /** Runs that are queued or training now. */
  get activeRuns(): readonly RunInfo[] {
    // A run another process trains is shown ("running elsewhere") but is not ours to follow or stop.
    return this.runList.filter((r) => (r.status === 'running' || r.status === 'queued') && !r.elsewhere);
  }

  runsOf(config: ConfigEntry): RunInfo[] {
    return this.runList.filter((r) => this.owners.get(r) === config);
  }

  /** The config a run belongs to (by path, path relative to the run, or name; run-ownership.ts). */
  configOf(run: RunInfo): ConfigEntry | undefined {
    return this.owners.get(run);
  }

  /** Runs whose config is no longer in the workspace. */
  orphanRuns(): RunInfo[] {
    return this.runList.filter((r) => !this.owners.has(r));
  }

  findRun(runIdOrDir: string): RunInfo | undefined {
    return this.runList.find((r) => r.runId === runIdOrDir || samePath(r.dir, runIdOrDir));
  }

  /**
   * Whether `dir` may be deleted as a run: `<runsFolder>/<experiment>/<runId>` under a runs
   * folder this model scans, a real folder (not a link) that holds a run.json.
   */
  async isDeletableRunDir(dir: string): Promise<boolean> {
    const resolved = path.resolve(dir);
    if (!this.scannedRunsDirs.some((d) => isInside(resolved, d))) return false;
    try {
      const stat = await fs.lstat(resolved);
      if (!stat.isDirectory()) return false;
      return (await fs.lstat(path.join(resolved, RUN_FILE))).isFile();
    } catch {
      return false;
    }
  }

  configFor(uri: vscode.Uri): ConfigEntry | undefined {
    return this.configList.find((c) => samePath(c.uri.fsPath, uri.fsPath));
  }

  /** The runs folder for a config file. */
  runsDirFor(uri: vscode.Uri): string {
    return this.config.runsDir(vscode.workspace.getWorkspaceFolder(uri), path.dirname(uri.fsPath));
  }

  /** Notes a run the trainer accepted, before its first notification. */
  noteQueued(runId: string, configPath: string | undefined, resumeDir?: string, name?: string): void {
    if (!this.live.has(runId)) this.live.set(runId, { queued: true, configPath, runDir: resumeDir, ...(name ? { name } : {}) });
    this.rebuildLive();
  }

  /** A job's result: an evaluation shows on its run; anything written (a sweep's runs, a .rpgz, an export) is rescanned. */
  noteJobResult(result: JobResult): void {
    if (result.kind === 'eval' && !result.target.endsWith('.rpgz')) {
      const dir = path.basename(result.target) === 'checkpoint.bin' ? path.dirname(result.target) : result.target;
      this.evaluations.set(path.resolve(dir), { acc: result.acc, loss: result.loss, ...(result.step !== undefined ? { step: result.step } : {}) });
      this.rebuildLive();
      return;
    }
    this.scheduleRefresh(50);
  }

  /**
   * Rescans configs and run folders; resolves with a listing read after this call (a scan
   * already running started too early: one more follows it, shared by every caller meanwhile).
   */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.scan().finally(() => {
        this.refreshing = undefined;
        this.lastScanEnd = Date.now();
      });
      return this.refreshing;
    }
    this.rescan ??= this.refreshing.then(() => {
      this.rescan = undefined;
      return this.refresh();
    });
    return this.rescan;
  }

  /** A refresh soon: at most one pending, and scans at least MIN_SCAN_INTERVAL_MS apart. */
  scheduleRefresh(delayMs = 250): void {
    const wait = Math.max(delayMs, this.lastScanEnd + MIN_SCAN_INTERVAL_MS - Date.now());
    // A pending refresh is never postponed (a stream of events must not starve it).
    if (this.refreshTimer && this.refreshDue <= Date.now() + wait) return;
    clearTimeout(this.refreshTimer);
    this.refreshDue = Date.now() + wait;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refresh();
    }, wait);
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    clearTimeout(this.fireTimer);
    for (const d of [...this.disposables, ...this.watchedDirs.values()]) d.dispose();
    this.changed.dispose();
  }

  private onRunEvent(e: RunEvent): void {
    const run = this.live.get(e.runId) ?? { queued: true };
    switch (e.kind) {
      case 'started':
        this.live.set(e.runId, { ...run, queued: false, runDir: e.runDir, configPath: e.configPath ?? run.configPath, backend: e.backend, ...(e.device ? { device: e.device } : {}) });
        this.scheduleRefresh(50);
        break;
      case 'progress': {
        // A row the trainer sent before the run ended but heard after it (or for a run it no
        // longer trains) must not bring the run back as "training".
        if (!this.trainer.activeRunIds.includes(e.runId)) return;
        const progress: LiveProgress = {
          epoch: e.epoch,
          totalEpochs: e.totalEpochs,
          progress: e.progress,
          samplesPerSec: e.samplesPerSec,
          loss: e.loss,
          acc: e.acc,
          etaSeconds: e.etaSeconds,
          ...(run.backend ? { backend: run.backend } : {}),
          ...(run.device ? { device: run.device } : {}),
        };
        this.live.set(e.runId, { ...run, queued: false, progress });
        this.rebuildLive();
        return;
      }
      case 'evaluated':
      case 'checkpoint':
        this.scheduleRefresh(100);
        return;
      case 'finished':
      case 'failed':
      case 'cancelled':
        this.live.delete(e.runId);
        // The run's final record is on disk now: show it at once.
        clearTimeout(this.refreshTimer);
        this.refreshTimer = undefined;
        void this.refresh();
        break;
    }
    this.rebuildLive();
  }

  /**
   * Listeners (the trees re-render whole) hear at most one change per CHANGE_INTERVAL_MS, the
   * last one always: a fast run sends progress 10×/s, and a tree view refreshed that often never
   * settles long enough to show its rows.
   */
  private fireChanged(): void {
    if (this.fireTimer) return;
    const wait = this.lastFire + CHANGE_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.lastFire = Date.now();
      this.changed.fire();
      return;
    }
    this.fireTimer = setTimeout(() => {
      this.fireTimer = undefined;
      this.lastFire = Date.now();
      this.changed.fire();
    }, wait);
  }

  /** Applies live progress to the scanned runs without touching the disk. */
  private rebuildLive(): void {
    const scanned = this.scannedList.map((r) => this.withLive(r));
    const present = new Set(scanned.map((r) => r.runId));
    const queued: RunInfo[] = [...this.live.entries()]
      .filter(([runId, l]) => !present.has(runId) && (l.queued || !l.runDir))
      .map(([runId, l]) => ({ runId, name: l.name ?? runId, dir: l.runDir ?? '', status: 'queued', hasCheckpoint: false, ...(l.configPath ? { configPath: l.configPath } : {}) }));
    this.runList = [...scanned, ...queued];
    this.owners = runOwners(this.runList, this.configList, (c) => c.uri.fsPath);
    this.fireChanged();
  }

  private withLive(scanned: RunInfo): RunInfo {
    const evaluation = this.evaluations.get(path.resolve(scanned.dir));
    const run = evaluation ? { ...scanned, evaluation } : scanned;
    let live = this.live.get(run.runId);
    if (live && !live.queued && TERMINAL.has(scanned.status) && !this.trainer.activeRunIds.includes(run.runId)) {
      // The record on disk says the run ended and the trainer does not train it: whatever live
      // state is left (an end the extension did not hear) is stale.
      this.live.delete(run.runId);
      live = undefined;
    }
    if (!live || live.queued) {
      const { live: _drop, ...rest } = run;
      return rest;
    }
    // The record says running while the trainer trains it; trust the trainer for live numbers.
    return { ...run, status: 'running', ...(live.progress ? { live: live.progress } : {}) };
  }

  private async scan(): Promise<void> {
    const configs = await this.findConfigs();
    const runsDirs = [...new Set(configs.map((c) => c.runsDir).concat(this.defaultRunsDirs()))];
    const active = new Set(this.trainer.activeRunIds);
    const isActive = (runId: string) => active.has(runId) || this.live.has(runId);
    const scanned = (await Promise.all(runsDirs.map((d) => scanRuns(d, { isActive })))).flat().map(toRunInfo);
    const runs = await Promise.all(scanned.map(async (r) => {
      const artifacts = await artifactsOf(r.dir);
      return artifacts.length ? { ...r, artifacts } : r;
    }));
    this.scannedRunsDirs = runsDirs;
    this.configList = configs.sort((a, b) => a.name.localeCompare(b.name));
    this.scannedList = runs.sort((a, b) => b.runId.localeCompare(a.runId));
    this.watchRunsDirs(runsDirs);
    this.rebuildLive();
  }

  private defaultRunsDirs(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).map((f) => this.config.runsDir(f, f.uri.fsPath));
  }

  private async findConfigs(): Promise<ConfigEntry[]> {
    const uris = await vscode.workspace.findFiles('**/*.rpg.json', '**/node_modules/**');
    const entries = await Promise.all(
      uris.map(async (uri): Promise<ConfigEntry | undefined> => {
        const runsDir = this.runsDirFor(uri);
        // Run folders hold a copy of their config: it is not an experiment of its own.
        if (isInside(uri.fsPath, runsDir) || (path.basename(uri.fsPath) === RUN_CONFIG_FILE && (await exists(path.join(path.dirname(uri.fsPath), RUN_FILE))))) return undefined;
        return { uri, name: await experimentName(uri), runsDir };
      }),
    );
    return entries.filter((e): e is ConfigEntry => e !== undefined);
  }

  /** One watcher per runs folder: a run.json written or a run folder deleted refreshes the model. */
  private watchRunsDirs(dirs: string[]): void {
    for (const [dir, watcher] of this.watchedDirs) {
      if (!dirs.includes(dir)) {
        watcher.dispose();
        this.watchedDirs.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.watchedDirs.has(dir)) continue;
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), '**'));
      const onEvent = (uri: vscode.Uri) => {
        const base = path.basename(uri.fsPath);
        // metrics.jsonl grows every step: the trainer's notifications cover live runs.
        if (base !== METRICS_FILE) this.scheduleRefresh();
      };
      watcher.onDidCreate(onEvent);
      watcher.onDidChange(onEvent);
      watcher.onDidDelete(onEvent);
      this.watchedDirs.set(dir, watcher);
    }
  }
}

/** A scanned run folder as the views show it. */
function toRunInfo(run: ScannedRun): RunInfo {
  return {
    runId: run.record.runId,
    // An unnamed record reads its experiment folder's name, as the panels do.
    name: run.record.name !== run.record.runId ? run.record.name : path.basename(path.dirname(run.dir)),
    dir: run.dir,
    record: run.record,
    status: run.record.status,
    hasCheckpoint: run.hasCheckpoint,
    ...(run.record.configPath ? { configPath: run.record.configPath } : {}),
    ...(run.record.configRelPath ? { configRelPath: run.record.configRelPath } : {}),
    ...(run.interrupted ? { interrupted: true } : {}),
    ...(run.elsewhere ? { elsewhere: run.elsewhere } : {}),
  };
}

/** Compressed files and exports made from a run, by name (what its row lists). */
async function artifactsOf(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => (e.isFile() && e.name.endsWith('.rpgz')) || (e.isDirectory() && e.name === 'tfjs')).map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
  } catch {
    return [];
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** The config's `name`, else its file name, as the engine names the runs folder. */
async function experimentName(uri: vscode.Uri): Promise<string> {
  const fallback = path.basename(uri.fsPath).replace(/\.rpg\.json$|\.json$/, '');
  try {
    const json = parseJsonc(await fs.readFile(uri.fsPath, 'utf8')) as { name?: unknown } | undefined;
    return typeof json?.name === 'string' && json.name ? json.name : fallback;
  } catch {
    return fallback;
  }
}

function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return !!rel && !rel.startsWith('..') && !path.isAbsolute(rel);
}
