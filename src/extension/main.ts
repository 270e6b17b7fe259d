// RPG Studio's entry point. Activation is cheap: it wires views, commands and the language
// client; the trainer process starts on first use (a Train or Resume command; plans for
// the Layers view are computed in this process). activate() reports its own errors (VS Code would only log them) and returns a small
// API that integration tests (and other extensions) use.
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { ConfigEntry, RunInfo } from './runs';
import { registerCommands } from './commands';
import { Ctx, type ReportedFailure } from './ctx';
import { postTrainingEvent, registerPanelSerializers } from './panels';
import type { TrainerClient } from '../protocol/client';
import type { TrainerState, RunEvent } from './trainer';
import type { ExperimentsTree } from './views/experiments';
import type { ShownMessage } from './notify';
import type { LayersTree } from './views/layers';

export interface RpgStudioApi {
  readonly trainer: {
    readonly state: TrainerState;
    /** Process id of the running trainer. */
    readonly pid: number | undefined;
    /** The live connection, for tests that corrupt or kill it. */
    readonly client: TrainerClient | undefined;
    readonly onDidChangeState: vscode.Event<TrainerState>;
  };
  readonly runs: readonly RunInfo[];
  readonly configs: readonly ConfigEntry[];
  readonly onDidChangeRuns: vscode.Event<void>;
  readonly onRunEvent: vscode.Event<RunEvent>;
  /** Failures shown to the user (with the config field at fault). */
  readonly onDidReportFailure: vscode.Event<ReportedFailure>;
  /** Every notification shown, with its buttons (notifications cannot be read back otherwise). */
  readonly onDidShowMessage: vscode.Event<ShownMessage>;
  readonly statusBarText: string;
  /** What a screen reader announces for the status bar item. */
  readonly statusBarAccessibilityLabel: string;
  readonly experimentsTree: ExperimentsTree;
  readonly layersTree: LayersTree;
  /** How long activate() took, ms. */
  readonly activationMs: number;
  /** How long evaluating the extension bundle's modules took before activate() ran, ms (undefined from sources). */
  readonly bundleLoadMs: number | undefined;
  refreshRuns(): Promise<void>;
}

let ctx: Ctx | undefined;
/** How long activate() took, ms (the language server and the first scan run on after it). */
let activationMs = 0;
/**
 * When the extension bundle's first line ran (esbuild.mjs puts `__rpgBundleStart` there): from it
 * to activate()'s call is the cost of loading our own modules, which activate() alone misses.
 * Undefined where no bundle runs (sources under tsx).
 */
declare const __rpgBundleStart: number | undefined;
declare const __rpgBundleEnd: number | undefined;
let bundleLoadMs: number | undefined;

/**
 * The language client module (vscode-languageclient and its protocol: half of the extension
 * bundle): required only once activate() has returned, so that loading the bundle stays cheap.
 */
const languageClient = () => require('./language-client') as typeof import('./language-client');

export async function activate(context: vscode.ExtensionContext): Promise<RpgStudioApi | undefined> {
  const started = performance.now();
  // Evaluating the bundle's modules, measured by esbuild.mjs's banner and footer (the time VS Code
  // takes between loading the module and calling activate() is its own, not counted).
  if (typeof __rpgBundleStart === 'number' && typeof __rpgBundleEnd === 'number') bundleLoadMs = __rpgBundleEnd - __rpgBundleStart;
  try {
    const c = new Ctx(context);
    ctx = c;
    context.subscriptions.push(c, ...registerCommands(c));
    context.subscriptions.push(
      registerPanelSerializers(context, c.panelDeps()),
      c.trainer.onRunEvent((e) => postTrainingEvent(e)),
    );
    activationMs = performance.now() - started;
    const load = bundleLoadMs === undefined ? '' : ` + ${bundleLoadMs.toFixed(0)} ms evaluating the bundle`;
    c.log.info(`RPG Studio ${context.extension.packageJSON.version} activated in ${activationMs.toFixed(0)} ms${load} (VS Code ${vscode.version}, ${vscode.workspace.isTrusted ? 'trusted' : 'Restricted Mode'})`);
    void c.runs.refresh();
    // The language server is cheap to start and owns diagnostics; never block activation on it.
    const lspDisposables: vscode.Disposable[] = [];
    context.subscriptions.push({ dispose: () => lspDisposables.forEach((d) => d.dispose()) });
    const starting = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      languageClient().startLanguageClient(context.extensionUri, c.log, lspDisposables, (client) => (c.languageClientStarting = client)),
    );
    starting.then(
      (client) => {
        c.languageClient = client;
        c.log.info('language server started');
      },
      (err: Error) => {
        c.log.error(`language server failed to start: ${err.stack ?? err.message}`);
        // A client whose start failed still holds its process and channels.
        const failed = c.languageClientStarting;
        c.languageClientStarting = undefined;
        void failed?.dispose(2000).catch(() => undefined);
        void vscode.window.showErrorMessage(`RPG Studio: the language server did not start (${err.message}). Diagnostics for .rpg.json files are unavailable.`, 'Show Log').then((a) => a && c.log.show());
      },
    );
    return api(c);
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    void vscode.window.showErrorMessage(`RPG Studio failed to activate: ${message}`);
    console.error('RPG Studio activation failed', err);
    return undefined;
  }
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  if (!c) return;
  // Running runs stop at a checkpoint; the rest of Ctx is disposed through subscriptions.
  await Promise.allSettled([stopLanguageClient(c), c.trainer.shutdown('VS Code is closing', 5000)]);
}

/** Stops the language client whether it runs, is still starting, or failed to start. */
async function stopLanguageClient(c: Ctx): Promise<void> {
  const client = c.languageClient ?? c.languageClientStarting;
  if (!client) return;
  try {
    // stop() waits for a start in progress; a client whose start failed is disposed instead.
    const { State } = require('vscode-languageclient/node') as typeof import('vscode-languageclient/node'); // loaded: a client exists
    if (client.isRunning() || client.state === State.Starting) await client.stop(2000);
    else await client.dispose(2000);
  } catch {
    await Promise.resolve(client.dispose(2000)).catch(() => undefined);
  }
}

function api(c: Ctx): RpgStudioApi {
  return {
    trainer: {
      get state() {
        return c.trainer.state;
      },
      get pid() {
        return c.trainer.pid;
      },
      get client() {
        return c.trainer.currentClient;
      },
      onDidChangeState: c.trainer.onDidChangeState,
    },
    get runs() {
      return c.runs.runs;
    },
    get configs() {
      return c.runs.configs;
    },
    onDidChangeRuns: c.runs.onDidChange,
    onRunEvent: c.trainer.onRunEvent,
    onDidReportFailure: c.failures.event,
    onDidShowMessage: c.notify.onDidShow,
    get statusBarText() {
      return c.status.text;
    },
    get statusBarAccessibilityLabel() {
      return c.status.accessibilityLabel;
    },
    experimentsTree: c.experiments,
    layersTree: c.layers,
    activationMs,
    bundleLoadMs,
    refreshRuns: () => c.runs.refresh(),
  };
}
