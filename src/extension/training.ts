// Starting, following and stopping runs from the UI: trust gate, train/start with the
// editor's text, a cancellable progress notification (Cancel → train/stop), and messages when
// a run ends. Failures that name a config field offer "Open config", which selects the field.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TrainerErrorData } from '../protocol';
import { locateField } from './config-location';
import type { Ctx, ReportedFailure } from './ctx';
import { count, epochOf, percent } from './format';
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
    void vscode.window.showWarningMessage(blocked, 'Manage Workspace Trust').then((a) => a && vscode.commands.executeCommand('workbench.trust.manage'));
    return { ok: false, message: blocked, blocked: true };
  }
  const { configUri, resume } = target;
  const configPath = configUri?.fsPath ?? resume?.configPath;
  const displayName = resume?.record?.name ?? (configUri ? path.basename(configUri.fsPath).replace(/\.rpg\.json$/, '') : 'run');
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
  if (!before.some(isEnd)) ctx.runs.noteQueued(runId, configPath, resume?.dir);
  followRun(ctx, runId, displayName, configPath, before);
  if (queuePosition > 0 && ctx.config.notifications === 'all') {
    void vscode.window.showInformationMessage(`${displayName} is queued behind ${queuePosition} run(s) (setting rpg.trainer.maxConcurrentRuns).`);
  }
  return { ok: true, runId, queuePosition };
}

/** Shows the run's progress (when notifications allow) and a message when it ends. */
function followRun(ctx: Ctx, runId: string, name: string, configPath: string | undefined, before: readonly RunEvent[]): void {
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
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Training ${name}`, cancellable: true },
      async (progress, token) => {
        let reported = 0;
        const sub = ctx.trainer.onRunEvent((e) => {
          if (e.runId !== runId || e.kind !== 'progress') return;
          const pct = Math.round(e.progress * 100);
          progress.report({ increment: pct - reported, message: `${epochOf(e.epoch, e.totalEpochs)} · ${pct}% · loss ${e.loss.toFixed(3)} · ${count(e.samplesPerSec)} samples/s` });
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
      ctx.log.info(`run ${runId} ${e.status}: ${e.steps} steps, best ${percent(e.bestAcc, 2)}, ${e.durationSec.toFixed(1)} s`);
      if (ctx.config.notifications !== 'all') return;
      const what = e.status === 'finished' ? `finished: best accuracy ${percent(e.bestAcc)}` : `stopped at step ${count(e.steps)} (checkpoint written)`;
      void vscode.window.showInformationMessage(`${name} ${what}.`, 'Show Curves', 'Open Run Folder').then((a) => {
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

/** Logs a failure and (unless notifications are off) shows it, with "Open config" when a field is at fault. */
export function reportFailure(ctx: Ctx, failure: ReportedFailure): void {
  ctx.log.error(failure.message + (failure.field ? ` [field ${failure.field}]` : ''));
  ctx.failures.fire(failure);
  if (ctx.config.notifications === 'none') return;
  const actions = [...(failure.configUri ? ['Open Config'] : []), 'Show Log'];
  const text = failure.field && !failure.message.includes(failure.field) ? `${failure.message} (${failure.field})` : failure.message;
  void vscode.window.showErrorMessage(text, ...actions).then((a) => {
    if (a === 'Open Config' && failure.configUri) void revealField(failure.configUri, failure.field);
    if (a === 'Show Log') ctx.log.show(true);
  });
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
