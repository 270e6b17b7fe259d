// Starting, following and stopping runs from the UI: trust gate, train/start with the
// editor's text, a cancellable progress notification (Cancel → train/stop), and messages when
// a run ends. Failures that name a config field offer "Open config", which selects the field.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TrainerErrorData } from '../protocol';
import { locateField } from './config-location';
import type { Ctx, ReportedFailure } from './ctx';
import { count, duration, epochOf, percent } from './format';
import { deviceText } from './status';
import type { RunInfo } from './runs';
import type { RunEvent } from './trainer';
import { trainingBlockedReason } from './trust';

export type TrainOutcome =
  | { readonly ok: true; readonly runId: string; readonly queuePosition: number }
  | { readonly ok: false; readonly message: string; readonly field?: string; readonly blocked?: boolean };

/** Starts a run of `configUri` (or resumes `resumeDir`); resolves once the trainer accepted it. */
export async function startRun(ctx: Ctx, target: { configUri?: vscode.Uri; resume?: RunInfo }): Promise<TrainOutcome> {
  const blocked = trainingBlockedReason(vscode.workspace.isTrusted);
  if (blocked) {
    void ctx.notify.warn(blocked, 'Manage Workspace Trust').then((a) => a && vscode.commands.executeCommand('workbench.trust.manage'));
    return { ok: false, message: blocked, blocked: true };
  }
  const { configUri, resume } = target;
  const configPath = configUri?.fsPath ?? resume?.configPath;
  // The experiment's `name`, as the Experiments view and the curves name it (not the file name).
  const displayName = resume?.name ?? (configUri ? experimentNameOf(ctx, configUri) : 'run');
  // The run trains what the editor shows, saved or not.
  const document = configUri ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === configUri.toString()) : undefined;
  let runId: string;
  let queuePosition: number;
  // Listen before sending: a run can report (even end) before the answer to train/start.
  const early: RunEvent[] = [];
  const recorder = ctx.trainer.onRunEvent((e) => early.push(e));
  try {
    // A resumed run trains the config its run.json holds; a new one the editor's text.
    ({ runId, queuePosition } = await ctx.trainer.startRun(
      resume
        ? { resumeFrom: resume.dir }
        : { runsDir: ctx.runs.runsDirFor(configUri!), configPath: configUri!.fsPath, ...(document?.isDirty ? { text: document.getText() } : {}) },
    ));
  } catch (err) {
    const data = (err as { data?: TrainerErrorData }).data;
    const message = (err as Error).message;
    reportFailure(ctx, { message: `Cannot ${resume ? 'resume' : 'train'} ${displayName}: ${message}`, ...(data?.field ? { field: data.field } : {}), ...(configPath ? { configUri: vscode.Uri.file(configPath) } : {}) });
    return { ok: false, message, ...(data?.field ? { field: data.field } : {}) };
  } finally {
    recorder.dispose();
  }
  const before = early.filter((e) => e.runId === runId);
  ctx.log.info(`${resume ? 'resuming' : 'training'} ${displayName}: run ${runId}${queuePosition ? `, queued behind ${queuePosition}` : ''}`);
  if (!before.some(isEnd)) ctx.runs.noteQueued(runId, configPath, resume?.dir, displayName);
  followRun(ctx, runId, displayName, configPath, before);
  if (queuePosition > 0 && ctx.config.notifications === 'all') {
    void ctx.notify.info(`${displayName} is queued behind ${queuePosition} run(s) (setting rpg.trainer.maxConcurrentRuns).`);
  }
  return { ok: true, runId, queuePosition };
}

/** Shows the run's progress (when notifications allow) and a message when it ends. */
function followRun(ctx: Ctx, runId: string, name: string, configPath: string | undefined, before: readonly RunEvent[]): void {
  const logStart = (e: RunEvent) => {
    if (e.kind === 'started' && e.runId === runId) ctx.log.info(`run ${runId} (${name}) ${e.resumed ? `resumed at step ${e.startStep}` : 'started'} on ${deviceText(e.backend, e.device)} (${e.engine} engine): ${e.totalSteps} steps`);
  };
  before.forEach(logStart);
  const startLog = ctx.trainer.onRunEvent((e) => {
    logStart(e);
    if (e.runId === runId && isEnd(e)) startLog.dispose();
  });
  if (before.some(isEnd)) startLog.dispose();
  const endedEarly = before.find(isEnd);
  const ended = endedEarly
    ? Promise.resolve(endedEarly)
    : new Promise<RunEvent>((resolve) => {
        const sub = ctx.trainer.onRunEvent((e) => {
          if (e.runId !== runId) return;
          if (isEnd(e)) {
            sub.dispose();
            resolve(e);
          }
        });
      });
  if (ctx.config.notifications === 'all' && !endedEarly) {
    const title = `Training ${name}`;
    ctx.notify.progress(title);
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        let reported = 0;
        let backend = '';
        const sub = ctx.trainer.onRunEvent((e) => {
          if (e.runId !== runId) return;
          if (e.kind === 'started') backend = deviceText(e.backend, e.device);
          if (e.kind !== 'progress') return;
          const pct = Math.round(e.progress * 100);
          const eta = e.etaSeconds > 0 && Number.isFinite(e.etaSeconds) ? ` · ${duration(e.etaSeconds)} left` : '';
          progress.report({ increment: pct - reported, message: `${epochOf(e.epoch, e.totalEpochs)} · ${pct}% · loss ${e.loss.toFixed(3)} · ${count(e.samplesPerSec)} samples/s${eta}${backend ? ` · ${backend}` : ''}` });
          reported = pct;
        });
        const cancel = token.onCancellationRequested(() => {
          progress.report({ message: 'stopping after the current step…' });
          ctx.trainer.stopRuns(runId).catch((err: Error) => ctx.log.warn(`stop ${runId}: ${err.message}`));
        });
        try {
          await ended;
        } finally {
          sub.dispose();
          cancel.dispose();
        }
      },
    );
  }
  void ended.then((e) => {
    if (e.kind === 'finished') {
      ctx.log.info(`run ${runId} ${e.status}: ${e.steps} steps, final test accuracy ${percent(e.finalAcc, 2)} (best epoch ${percent(e.bestAcc, 2)}), ${e.durationSec.toFixed(1)} s`);
      if (ctx.config.notifications !== 'all') return;
      const what = e.status === 'finished' ? `finished: ${accuracyText(e.finalAcc, e.bestAcc)}` : `stopped at step ${count(e.steps)} (checkpoint written)`;
      void ctx.notify.info(`${name} ${what}.`, 'Show Curves', 'Open Run Folder').then((a) => {
        if (a === 'Show Curves') void vscode.commands.executeCommand('rpg.showTrainingCurves', e.runDir);
        if (a === 'Open Run Folder') void vscode.commands.executeCommand('rpg.openRunFolder', e.runDir);
      });
    } else if (e.kind === 'failed') {
      const file = e.file && /\.rpg\.json$/.test(e.file) ? e.file : configPath;
      reportFailure(ctx, { message: `${name} failed: ${e.message}`, runId, ...(e.field ? { field: e.field } : {}), ...(file ? { configUri: vscode.Uri.file(file) } : {}) });
    }
  });
}

function isEnd(e: RunEvent): boolean {
  return e.kind === 'finished' || e.kind === 'failed' || e.kind === 'cancelled';
}

/** "test accuracy 96.05% (best epoch 96.40%)": the final accuracy a run reports, and its best epoch apart. */
export function accuracyText(finalAcc: number, bestAcc: number): string {
  return `test accuracy ${percent(finalAcc, 2)}${bestAcc > finalAcc + 5e-5 ? ` (best epoch ${percent(bestAcc, 2)})` : ''}`;
}

/**
 * Logs a failure and (unless notifications are off) shows it. A config field at fault gets
 * "Open Config" (the user has to fix it; such a toast stays until dismissed); anything else —
 * a crashed trainer, an interrupted run, a dataset that vanished — is shown without buttons, so
 * it hides on its own and never outlives a restart or a resume on screen (notify.ts).
 */
export function reportFailure(ctx: Ctx, failure: ReportedFailure): void {
  ctx.log.error(failure.message + (failure.field ? ` [field ${failure.field}]` : ''));
  ctx.failures.fire(failure);
  if (ctx.config.notifications === 'none') return;
  const text = failure.field && !failure.message.includes(failure.field) ? `${failure.message} (${failure.field})` : failure.message;
  if (!(failure.field && failure.configUri)) {
    void ctx.notify.transientError(text);
    return;
  }
  void ctx.notify.error(text, 'Open Config', 'Show Log').then((a) => {
    if (a === 'Open Config' && failure.configUri) void revealField(failure.configUri, failure.field);
    if (a === 'Show Log') ctx.log.show(true);
  });
}

/** The experiment name a config's runs are filed under: its `name`, else its file name. */
function experimentNameOf(ctx: Ctx, uri: vscode.Uri): string {
  const known = ctx.runs.configFor(uri)?.name;
  if (known) return known;
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  const name = open ? /"name"\s*:\s*"([^"\\]+)"/.exec(open.getText())?.[1] : undefined;
  return name ?? path.basename(uri.fsPath).replace(/\.rpg\.json$/, '');
}

/** Opens the config and selects `field` (or its nearest written ancestor). */
export async function revealField(configUri: vscode.Uri, field?: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(configUri);
  const editor = await vscode.window.showTextDocument(document);
  const span = field ? locateField(document.getText(), field) : undefined;
  if (span) {
    const range = new vscode.Range(document.positionAt(span.offset), document.positionAt(span.offset + span.length));
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }
  return editor;
}
