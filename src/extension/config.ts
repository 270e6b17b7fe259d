// The extension's settings (`rpg.*`), read through typed getters so no other file spells a
// setting's name. Settings the running trainer was started with are listed in
// TRAINER_RESTART_SETTINGS: changing one offers a trainer restart.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackendName } from '../core/config/schema';

export const SECTION = 'rpg';

/** Settings the trainer reads only when it starts. */
export const TRAINER_RESTART_SETTINGS = [
  'rpg.trainer.backend',
  'rpg.trainer.threads',
  'rpg.trainer.nodePath',
  'rpg.trainer.nodeArgs',
  'rpg.trainer.maxConcurrentRuns',
  'rpg.python',
] as const;

export type NotificationLevel = 'all' | 'errors' | 'none';

const BACKENDS: readonly BackendName[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];
const LEVELS: readonly NotificationLevel[] = ['all', 'errors', 'none'];

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  get backend(): BackendName {
    const v = this.cfg.get<string>('trainer.backend', 'auto');
    return (BACKENDS as readonly string[]).includes(v) ? (v as BackendName) : 'auto';
  }

  /** 0 = let the backend decide. */
  get threads(): number {
    return nonNegativeInt(this.cfg.get<number>('trainer.threads', 0), 0);
  }

  /** The Node executable for the trainer and the environment that makes it behave as Node. */
  get trainerRuntime(): { nodePath: string; env: NodeJS.ProcessEnv; nodeArgs: string[] } {
    const configured = this.cfg.get<string>('trainer.nodePath', '').trim();
    const nodeArgs = this.cfg.get<unknown[]>('trainer.nodeArgs', []).filter((a): a is string => typeof a === 'string');
    if (configured) return { nodePath: expandHome(configured), env: { ...process.env }, nodeArgs };
    // VS Code's own runtime: Electron on the desktop (needs ELECTRON_RUN_AS_NODE), Node in
    // code-server and remote extension hosts (where the variable is harmless).
    return { nodePath: process.execPath, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, nodeArgs };
  }

  /** The Python of the torch engine, as the setting gives it ('' = not set). */
  get python(): string {
    return expandHome(this.cfg.get<string>('python', '').trim());
  }

  get maxConcurrentRuns(): number {
    return Math.max(1, nonNegativeInt(this.cfg.get<number>('trainer.maxConcurrentRuns', 1), 1));
  }

  get notifications(): NotificationLevel {
    const v = this.cfg.get<string>('notifications', 'all');
    return (LEVELS as readonly string[]).includes(v) ? (v as NotificationLevel) : 'all';
  }

  get planDelayMs(): number {
    return nonNegativeInt(this.cfg.get<number>('layers.planDelayMs', 300), 300);
  }

  /** The runs folder for configs of `folder` (absolute). */
  runsDir(folder: vscode.WorkspaceFolder | undefined, fallbackDir: string): string {
    const setting = vscode.workspace.getConfiguration(SECTION, folder?.uri).get<string>('runsFolder', 'runs').trim() || 'runs';
    const expanded = expandHome(setting);
    return path.isAbsolute(expanded) ? expanded : path.join(folder?.uri.fsPath ?? fallbackDir, expanded);
  }
}

/** True when the change touches a setting the trainer reads only at start. */
export function needsTrainerRestart(event: vscode.ConfigurationChangeEvent): boolean {
  return TRAINER_RESTART_SETTINGS.some((key) => event.affectsConfiguration(key));
}

function nonNegativeInt(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : fallback;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}
