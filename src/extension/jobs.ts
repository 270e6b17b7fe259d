// The CLI's other jobs from the palette — RPG: Run DoF Sweep, Compress Run, Export Run,
// Evaluate Run — run in the trainer (the extension never loads tfjs) behind a cancellable
// progress notification; their results go to the views (a sweep's runs to the Experiments view
// and the DoF tab, a .rpgz, an export or an evaluation to its run's row) and to a message that
// opens what was made.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { JobResult, JobSpec } from '../protocol';
import type { Ctx } from './ctx';
import { count, percent } from './format';
import type { JobEvent } from './trainer';
import { trainingBlockedReason } from './trust';

const TITLES: Record<JobSpec['kind'], string> = { sweep: 'DoF sweep', compress: 'Compressing', export: 'Exporting', eval: 'Evaluating' };

/** Runs a job with a progress notification (Cancel stops it); resolves with its result, or undefined. */
export async function runJob(ctx: Ctx, spec: JobSpec, what: string): Promise<JobResult | undefined> {
  const blocked = trainingBlockedReason(vscode.workspace.isTrusted);
  if (blocked) {
    void ctx.notify.warn(blocked);
    return undefined;
  }
  const title = `${TITLES[spec.kind]} ${what}`;
  ctx.notify.progress(title);
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    // Listen before starting: a short job can end before job/start's answer is read.
    const early: JobEvent[] = [];
    let jobId: string | undefined;
    let reported = 0;
    type End = Exclude<JobEvent, { kind: 'progress' }>;
    let settle: (e: End) => void = () => undefined;
    const ended = new Promise<End>((resolve) => (settle = resolve));
    const onEvent = (e: JobEvent): void => {
      if (e.kind === 'progress') {
        if (e.runDir) ctx.runs.scheduleRefresh(100);
        const pct = e.fraction !== undefined ? Math.round(e.fraction * 100) : undefined;
        progress.report({ message: e.message, ...(pct !== undefined && pct > reported ? { increment: pct - reported } : {}) });
        if (pct !== undefined) reported = Math.max(reported, pct);
      } else settle(e);
    };
    const sub = ctx.trainer.onJobEvent((e) => (jobId === undefined ? early.push(e) : e.jobId === jobId && onEvent(e)));
    const cancel = token.onCancellationRequested(() => {
      progress.report({ message: 'stopping after the current step…' });
      if (jobId) ctx.trainer.cancelJob(jobId).catch((err: Error) => ctx.log.warn(`cancel ${jobId}: ${err.message}`));
    });
    try {
      jobId = await ctx.trainer.startJob(spec);
      for (const e of early) if (e.jobId === jobId) onEvent(e);
      if (token.isCancellationRequested) void ctx.trainer.cancelJob(jobId);
      const end = await ended;
      if (end.kind === 'failed') {
        if (end.code === 'cancelled') void ctx.notify.info(`${title}: cancelled. ${spec.kind === 'sweep' ? 'Its finished runs stay in the Experiments view.' : 'Nothing was written.'}`);
        else void ctx.notify.transientError(`${title} failed: ${end.message}${end.field ? ` (${end.field})` : ''}`);
        ctx.log.error(`${title} ${end.code}: ${end.message}`);
        return undefined;
      }
      ctx.runs.noteJobResult(end.result);
      ctx.log.info(`${title}: ${JSON.stringify(end.result)}`);
      void announce(ctx, end.result);
      return end.result;
    } catch (err) {
      void ctx.notify.transientError(`${title} could not start: ${(err as Error).message}`);
      return undefined;
    } finally {
      sub.dispose();
      cancel.dispose();
    }
  });
}

/** The result in a message, with what opens it. */
async function announce(ctx: Ctx, r: JobResult): Promise<void> {
  switch (r.kind) {
    case 'sweep': {
      const fit = r.fit ? `accuracy ≈ ${(r.fit.a * 100).toFixed(2)}% + ${(r.fit.b * 100).toFixed(2)}%·ln DoF (R² ${r.fit.r2.toFixed(2)})` : 'too few ring sizes for the log-linear fit';
      const predicted = r.predictedDof ? `; ${percent(r.target ?? 0.95, 0)} of the plain model's accuracy is predicted at M ≈ ${count(r.predictedDof)}` : '';
      const a = await ctx.notify.info(`Sweep ${r.status}: ${r.points} runs, ${fit}${predicted}.`, 'Show DoF vs Accuracy', 'Open sweep.json');
      if (a === 'Show DoF vs Accuracy') await vscode.commands.executeCommand('rpg.showTrainingCurves', { view: 'dof' });
      if (a === 'Open sweep.json') await vscode.window.showTextDocument(vscode.Uri.file(r.file));
      return;
    }
    case 'compress': {
      const a = await ctx.notify.info(
        `Compressed to ${bytes(r.bytes)} (${(r.plainBytes / r.bytes).toFixed(1)}× smaller than the plain model's float32 weights): ${count(r.kept)} of ${count(r.ringSize)} ring entries kept, ${r.bits}-bit; test accuracy ${percent(r.before, 2)} → ${percent(r.after, 2)}.`,
        'Reveal File', 'Evaluate It',
      );
      if (a === 'Reveal File') await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(r.file));
      if (a === 'Evaluate It') await vscode.commands.executeCommand('rpg.evaluate', { target: r.file });
      return;
    }
    case 'export': {
      const a = await ctx.notify.info(`Exported a TensorFlow.js Layers model (${count(r.params)} parameters, ${bytes(r.bytes)}) to ${r.dir}; checked after loading: same predictions on ${percent(r.agreement, 1)} of a test batch.`, 'Reveal Folder');
      if (a === 'Reveal Folder') await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(path.join(r.dir, 'model.json')));
      return;
    }
    case 'eval':
      void ctx.notify.info(`${path.basename(r.target)}${r.step !== undefined ? ` (step ${count(r.step)})` : ''}: test accuracy ${percent(r.acc, 2)}, loss ${r.loss.toFixed(4)} on ${count(r.examples)} ${r.dataset} test examples (${r.backend}).`);
      return;
  }
}

function bytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}
