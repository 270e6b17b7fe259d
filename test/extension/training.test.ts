// Training from VS Code end to end: Train Model on a tiny config, live status bar and tree,
// Stop with a checkpoint, the trainer killed with SIGKILL mid-run (run failed, fresh trainer,
// resumable checkpoint), an invalid config (error naming the field, nothing created), and
// garbage on the trainer's stdout (logged, clean restart).
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import * as vscode from 'vscode';
import type { RpgStudioApi } from '../../src/extension/main';
import type { TrainOutcome } from '../../src/extension/training';
import type { RunRecord } from '../../src/core/runs/types';
import type { JobResult } from '../../src/protocol';
import { fixtureUri, nextMessage, nextRunEvent, rpgApi, treeLines, waitFor, workspaceDir } from './util';

const readRecord = (runDir: string) => JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as RunRecord;
const LIVE_STATUS = /epoch \d+\/\d+ · \d+% · [\d,]+ samples\/s/;

async function train(uri: vscode.Uri): Promise<Extract<TrainOutcome, { ok: true }>> {
  const outcome = (await vscode.commands.executeCommand('rpg.train', uri)) as TrainOutcome;
  assert.ok(outcome?.ok, `train failed: ${JSON.stringify(outcome)}`);
  return outcome;
}

suite('training', function () {
  this.timeout(180_000);
  let api: RpgStudioApi;

  suiteSetup(async () => {
    api = await rpgApi();
    // Progress notifications would pile up over the suite; the status bar and tree are checked instead.
    await vscode.workspace.getConfiguration('rpg').update('notifications', 'errors', vscode.ConfigurationTarget.Workspace);
  });

  suiteTeardown(async () => {
    await vscode.workspace.getConfiguration('rpg').update('notifications', undefined, vscode.ConfigurationTarget.Workspace);
  });

  test('Train Model on a tiny config writes a finished run with metrics', async () => {
    const uri = fixtureUri('tiny.rpg.json');
    await vscode.window.showTextDocument(uri);
    const t0 = Date.now();
    let runId: string | undefined;
    const started = nextRunEvent(api, () => runId, ['started']);
    const finished = nextRunEvent(api, () => runId, ['finished', 'failed']);
    runId = (await train(uri)).runId;
    const { runDir } = await started;
    const end = await finished;
    assert.equal(end.kind, 'finished', JSON.stringify(end));
    console.log(`      tiny run ${runId} in ${Date.now() - t0} ms (trainer pid ${api.trainer.pid})`);
    assert.equal(readRecord(runDir).status, 'finished');
    const rows = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.ok(rows.some((r) => r.type === 'train') && rows.some((r) => r.type === 'eval'), 'metrics.jsonl has train and eval rows');
    assert.ok(existsSync(path.join(runDir, 'checkpoint.bin')));
    assert.equal(path.dirname(path.dirname(runDir)), path.join(workspaceDir(), 'runs'));

    // The row leads with the final test accuracy (what a narrow sidebar still shows).
    const finalAcc = readRecord(runDir).finalAcc!;
    const lines = await waitFor('the run in the Experiments tree', async () => {
      const l = await treeLines(api.experimentsTree);
      return l.some((x) => x.startsWith(`  ${(finalAcc * 100).toFixed(1)}% test — DoF `)) && l;
    });
    const tinyAt = lines.findIndex((l) => l.startsWith('tiny'));
    assert.ok(tinyAt >= 0 && /^ {2}[\d.]+% test — DoF [\d,]+ · /.test(lines[tinyAt + 1] ?? ''), lines.join('\n'));
    assert.ok(api.runs.some((r) => r.runId === runId && r.status === 'finished'));
  });

  test('every CLI job from the palette: evaluate, compress, export a run, sweep a config; results in the views', async () => {
    const uri = fixtureUri('tiny.rpg.json');
    let runId: string | undefined;
    const finished = nextRunEvent(api, () => runId, ['finished', 'failed']);
    runId = (await train(uri)).runId;
    const end = await finished;
    assert.equal(end.kind, 'finished');
    const runDir = end.kind === 'finished' ? end.runDir : '';
    const record = readRecord(runDir);

    const evaluated = (await vscode.commands.executeCommand('rpg.evaluate', { target: runDir })) as JobResult;
    assert.ok(evaluated?.kind === 'eval' && Math.abs(evaluated.acc - record.finalAcc!) < 1e-6, JSON.stringify(evaluated));
    const compressed = (await vscode.commands.executeCommand('rpg.compress', { runDir, prune: 0.5, bits: 8, finetune: 0 })) as JobResult;
    assert.ok(compressed?.kind === 'compress' && existsSync(compressed.file), JSON.stringify(compressed));
    const exported = (await vscode.commands.executeCommand('rpg.export', { source: runDir, format: 'tfjs' })) as JobResult;
    assert.ok(exported?.kind === 'export' && existsSync(path.join(exported.dir, 'model.json')), JSON.stringify(exported));
    // The run's row says what was made from it and its evaluation.
    const row = await waitFor('the run row with its evaluation and artifacts', async () => {
      await api.refreshRuns();
      return (await treeLines(api.experimentsTree)).find((l) => l.includes(`eval ${(evaluated.kind === 'eval' ? evaluated.acc * 100 : 0).toFixed(1)}%`) && l.includes('.rpgz+tfjs'));
    });
    console.log(`      ${row.trim()}`);

    const sweep = (await vscode.commands.executeCommand('rpg.sweep', { configUri: uri, dofs: [100, 500] })) as JobResult;
    assert.ok(sweep?.kind === 'sweep' && sweep.status === 'finished' && sweep.points === 3, JSON.stringify(sweep));
    // Its runs land under their config in the Experiments view.
    await waitFor('the sweep runs under tiny', async () => {
      await api.refreshRuns();
      const config = api.configs.find((c) => c.name === 'tiny');
      return api.runs.filter((r) => r.dir.startsWith(sweep.kind === 'sweep' ? sweep.dir : '?')).length === 3 && config;
    });
    const lines = await treeLines(api.experimentsTree);
    const tinyAt = lines.findIndex((l) => /^tiny — /.test(l));
    const next = lines.findIndex((l, i) => i > tinyAt && /^\S/.test(l));
    const under = lines.slice(tinyAt + 1, next < 0 ? undefined : next);
    assert.ok(under.length >= 4, `the run and the sweep's three under tiny:\n${lines.join('\n')}`);
  });

  test('status bar and tree follow a long run; Stop Training leaves a checkpoint', async () => {
    let runId: string | undefined;
    const started = nextRunEvent(api, () => runId, ['started']);
    const checkpoint = nextRunEvent(api, () => runId, ['checkpoint']);
    runId = (await train(fixtureUri('long.rpg.json'))).runId;
    const { runDir } = await started;
    // The item follows this run (no earlier run of the suite is left showing as training).
    const status = await waitFor('live status bar text of the long run', () => LIVE_STATUS.test(api.statusBarText) && /^RPG training long: /.test(api.statusBarAccessibilityLabel) && api.statusBarText);
    console.log(`      status bar: ${status}`);
    assert.deepEqual(api.runs.filter((r) => r.status === 'running').map((r) => r.name), ['long'], 'only the long run is training');
    // While it trains the status bar says on what (backend, and the device when there is one).
    const backend = readRecord(runDir).backend;
    assert.match(status, new RegExp(` · ${backend}( · .+)?$`));
    assert.match(api.statusBarAccessibilityLabel, /^RPG training long: epoch \d+\/\d+/);
    await waitFor('the running run in the tree', async () => (await treeLines(api.experimentsTree)).some((l) => /^ {2}epoch \d+\/\d+ · \d+% — [\d,]+ samples\/s · /.test(l)));
    await checkpoint;

    const ended = nextRunEvent(api, () => runId, ['finished', 'failed']);
    const stopped = (await vscode.commands.executeCommand('rpg.stop', runId)) as string[];
    assert.deepEqual(stopped, [runId]);
    const end = await ended;
    assert.ok(end.kind === 'finished' && end.status === 'stopped', JSON.stringify(end));
    assert.ok(existsSync(path.join(runDir, 'checkpoint.bin')), 'checkpoint after stop');
    assert.equal(readRecord(runDir).status, 'stopped');
    await waitFor('status bar back to idle', () => !LIVE_STATUS.test(api.statusBarText));
    // What a screen reader says follows the text: nothing of the training is left in it.
    await waitFor('an idle accessibility label', () => !/training|samples/.test(api.statusBarAccessibilityLabel) && api.statusBarAccessibilityLabel);
  });

  test('kill -9 of the trainer: run failed, fresh trainer on next use, checkpoint resumable', async () => {
    let runId: string | undefined;
    const started = nextRunEvent(api, () => runId, ['started']);
    const checkpoint = nextRunEvent(api, () => runId, ['checkpoint']);
    runId = (await train(fixtureUri('long.rpg.json'))).runId;
    const { runDir } = await started;
    await checkpoint;
    const pid = api.trainer.pid;
    assert.ok(pid, 'trainer pid');
    const failed = nextRunEvent(api, () => runId, ['failed', 'finished']);
    const shown = nextMessage(api, /ended unexpectedly/);
    process.kill(pid, 'SIGKILL');
    const failure = await failed;
    assert.equal(failure.kind, 'failed');
    const message = failure.kind === 'failed' ? failure.message : '';

    // Everything said matches the run folder: how far it got, and the checkpoint it resumes from.
    const record = readRecord(runDir);
    assert.equal(record.status, 'failed');
    assert.ok(existsSync(path.join(runDir, 'checkpoint.bin')), 'last checkpoint intact');
    const lastRow = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number }).at(-1)!;
    assert.equal(record.step, lastRow.step, 'the record has the step the run reached');
    assert.ok(record.durationSec > 0 && record.checkpointStep! > 0 && record.checkpointStep! <= record.step, JSON.stringify(record));
    assert.match(message, new RegExp(`^The trainer process ended unexpectedly \\(signal SIGKILL\\) at step ${record.step.toLocaleString('en-US')} \\(.+ of training\\)\\. Its last checkpoint, at step ${record.checkpointStep!.toLocaleString('en-US')}, is intact: resume the run`));
    assert.equal(record.error?.message, message);
    // Shown without buttons: it hides on its own and does not outlive the recovery below.
    const toast = await shown;
    assert.deepEqual(toast.actions, []);
    await waitFor('status bar shows the crash', () => /trainer stopped/.test(api.statusBarText));
    await waitFor('tree shows the failed run', async () => (await treeLines(api.experimentsTree)).some((l) => new RegExp(`^ {2}failed at step ${record.step.toLocaleString('en-US')} — `).test(l)));

    // Resume: a fresh trainer continues from the checkpoint.
    const resumedStart = nextRunEvent(api, () => runId, ['started']);
    const outcome = (await vscode.commands.executeCommand('rpg.resume', runDir)) as TrainOutcome;
    assert.ok(outcome?.ok && outcome.runId === runId, JSON.stringify(outcome));
    const resumed = await resumedStart;
    assert.ok(resumed.resumed && resumed.startStep > 0, `resumed from step ${resumed.startStep}`);
    assert.notEqual(api.trainer.pid, pid, 'a fresh trainer process');
    await waitFor('live status bar after the crash', () => LIVE_STATUS.test(api.statusBarText));
    const ended = nextRunEvent(api, () => runId, ['finished', 'failed']);
    await vscode.commands.executeCommand('rpg.stop', runId);
    const end = await ended;
    assert.ok(end.kind === 'finished' && end.status === 'stopped', JSON.stringify(end));
    assert.equal(readRecord(runDir).status, 'stopped');
  });

  test('killed before its first checkpoint: the record and every message say there is nothing to resume', async () => {
    let runId: string | undefined;
    const started = nextRunEvent(api, () => runId, ['started']);
    runId = (await train(fixtureUri('crash.rpg.json'))).runId;
    const { runDir } = await started;
    console.log(`      crash run ${runId} started`);
    // A few steps in (an epoch here is 1,000 steps, its checkpoint far away; checkpointMinutes 60).
    await nextRunEvent(api, () => runId, ['progress']);
    const pid = api.trainer.pid!;
    const failed = nextRunEvent(api, () => runId, ['failed', 'finished']);
    process.kill(pid, 'SIGKILL');
    const failure = await failed;
    const message = failure.kind === 'failed' ? failure.message : '';
    console.log(`      ${message}`);
    const record = readRecord(runDir);
    assert.ok(record.step > 0 && record.durationSec > 0, `real step and time: ${JSON.stringify(record)}`);
    if (existsSync(path.join(runDir, 'checkpoint.bin'))) {
      // A very fast machine may have reached the epoch's end: then the message must name it.
      assert.match(message, new RegExp(`Its last checkpoint, at step ${record.checkpointStep!.toLocaleString('en-US')}, is intact`));
    } else {
      assert.match(message, new RegExp(`at step ${record.step.toLocaleString('en-US')} \\(.+ of training\\)\\. It had not written a checkpoint yet, so there is nothing to resume: train the config again\\.$`));
      assert.equal(record.checkpointStep, undefined);
      await api.refreshRuns();
      const refused = nextMessage(api, /has no checkpoint to resume from/);
      assert.equal(await vscode.commands.executeCommand('rpg.resume', runDir), undefined);
      assert.match((await refused).text, new RegExp(`^crash \\(${runId}\\) has no checkpoint to resume from: it ended at step ${record.step}, before its first checkpoint`));
    }
    await waitFor('the crashed run in the tree', async () => (await treeLines(api.experimentsTree)).some((l) => new RegExp(`^ {2}failed at step ${record.step.toLocaleString('en-US')} — `).test(l)));
  });

  test('notifications name the experiment as the views do (its name, not the file name) and report the final test accuracy', async () => {
    const file = path.join(workspaceDir(), 'named.rpg.json');
    writeFileSync(file, readFileSync(fixtureUri('tiny.rpg.json').fsPath, 'utf8').replace('"name": "tiny"', '"name": "tiny-named-10pct"'));
    await vscode.workspace.getConfiguration('rpg').update('notifications', 'all', vscode.ConfigurationTarget.Workspace);
    try {
      await api.refreshRuns();
      const progress = nextMessage(api, /^Training /);
      const done = nextMessage(api, /finished: test accuracy/);
      let runId: string | undefined;
      const finished = nextRunEvent(api, () => runId, ['finished', 'failed']);
      runId = (await train(vscode.Uri.file(file))).runId;
      assert.equal((await progress).text, 'Training tiny-named-10pct');
      const end = await finished;
      assert.equal(end.kind, 'finished');
      const text = (await done).text;
      const final = end.kind === 'finished' ? end.finalAcc : NaN;
      assert.match(text, new RegExp(`^tiny-named-10pct finished: test accuracy ${(final * 100).toFixed(2)}%`));
    } finally {
      await vscode.workspace.getConfiguration('rpg').update('notifications', 'errors', vscode.ConfigurationTarget.Workspace);
      await vscode.workspace.fs.delete(vscode.Uri.file(file));
    }
  });

  test('a config invalid at start: error naming the field, Open Config selects it, nothing created', async () => {
    const file = path.join(workspaceDir(), 'invalid.rpg.json');
    writeFileSync(file, '// invalid on purpose\n{\n  "name": "invalid",\n  "model": { "arch": "mlp" },\n  "data": { "dataset": "mnist-embedded" },\n  "train": { "lr": -1 }\n}\n');
    const uri = vscode.Uri.file(file);
    const reported = new Promise<{ message: string; field?: string }>((resolve) => {
      const sub = api.onDidReportFailure((f) => {
        sub.dispose();
        resolve(f);
      });
    });
    const outcome = (await vscode.commands.executeCommand('rpg.train', uri)) as TrainOutcome;
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.field, 'train.lr');
    const failure = await reported;
    assert.equal(failure.field, 'train.lr');
    assert.match(failure.message, /invalid/);
    assert.equal(existsSync(path.join(workspaceDir(), 'runs', 'invalid')), false, 'no run folder');

    await vscode.commands.executeCommand('rpg.openConfig', { uri, field: 'train.lr' });
    const editor = vscode.window.activeTextEditor!;
    assert.equal(editor.document.uri.fsPath, file);
    assert.equal(editor.document.getText(editor.selection), '"lr": -1');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    await vscode.workspace.fs.delete(uri);
  });

  test('garbage on the trainer stdout is logged and the trainer restarts cleanly', async () => {
    // Plans are computed in the extension host: the Layers view works without a trainer.
    const doc = await vscode.workspace.openTextDocument(fixtureUri('tiny.rpg.json'));
    await vscode.window.showTextDocument(doc);
    await waitFor('a plan for the Layers view', async () => (await api.layersTree.currentPlan())?.ok);
    // A tiny run makes sure a trainer runs.
    const trainTiny = async () => {
      let runId: string | undefined;
      const ended = nextRunEvent(api, () => runId, ['finished', 'failed']);
      runId = (await train(fixtureUri('tiny.rpg.json'))).runId;
      const end = await ended;
      assert.equal(end.kind, 'finished', JSON.stringify(end));
    };
    await trainTiny();
    const client = api.trainer.client!;
    const pid = client.pid;
    // Not a protocol header: the reader fails at once.
    client.process.stdout!.emit('data', Buffer.from('this is not JSON-RPC\r\n\r\n'));
    await waitFor('the corrupted trainer to exit', () => client.exit !== undefined, 30_000);
    // The next run starts a fresh trainer.
    await trainTiny();
    assert.notEqual(api.trainer.pid, pid);

    // Oversized junk (an 8 MiB header line): restart again, no hang.
    const big = api.trainer.client!;
    big.process.stdout!.emit('data', Buffer.concat([Buffer.alloc(8 * 1024 * 1024, 'x'), Buffer.from('\r\n\r\n')]));
    await waitFor('the trainer with oversized output to exit', () => big.exit !== undefined, 60_000, 250);
    await trainTiny();
    assert.ok(api.trainer.pid !== undefined && api.trainer.client !== big);
    assert.ok(readdirSync(workspaceDir()).includes('tiny.rpg.json'));
  });
});
