// The torch engine from VS Code: rpg.python names the interpreter, RPG: Train Model on a config
// with "engine": "torch" trains in a Python child of the trainer, the run shows as any run, and
// RPG: Stop Training ends it at a checkpoint. Skipped only where /usr/bin/python3 lacks torch
// (RPG_REQUIRE_TORCH=1, as in CI, makes that a failure). Leaves no config or run behind.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import * as vscode from 'vscode';
import type { RpgStudioApi } from '../../src/extension/main';
import type { TrainOutcome } from '../../src/extension/training';
import { nextRunEvent, rpgApi, workspaceDir } from './util';

const PYTHON = process.env.RPG_PYTHON ?? '/usr/bin/python3';

function torchMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.status === 0) return undefined;
  const why = `${PYTHON} cannot import torch`;
  if (process.env.RPG_REQUIRE_TORCH === '1') throw new Error(`RPG_REQUIRE_TORCH=1 but ${why}`);
  return why;
}

suite('torch engine', function () {
  this.timeout(600_000);
  let api: RpgStudioApi;
  const configFile = () => path.join(workspaceDir(), 'torch-e2e.rpg.json');
  const runsOf = () => path.join(workspaceDir(), 'runs', 'torch-e2e');

  suiteSetup(async function () {
    const missing = torchMissing();
    if (missing) this.skip();
    api = await rpgApi();
    await vscode.workspace.getConfiguration('rpg').update('notifications', 'errors', vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('rpg').update('python', PYTHON, vscode.ConfigurationTarget.Workspace);
    // The interpreter is read when the trainer starts.
    await vscode.commands.executeCommand('rpg.restartTrainer', { confirmed: true });
    writeFileSync(configFile(), JSON.stringify({ name: 'torch-e2e', model: { arch: 'mlp', hidden: [32] }, rpg: { dof: '10%' }, data: { dataset: 'mnist-embedded', trainSize: 2048, testSize: 128 }, train: { engine: 'torch', batchSize: 32, epochs: 50 } }, null, 2));
  });

  suiteTeardown(async () => {
    if (!api) return;
    rmSync(configFile(), { force: true });
    rmSync(runsOf(), { recursive: true, force: true });
    await vscode.workspace.getConfiguration('rpg').update('python', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('rpg').update('notifications', undefined, vscode.ConfigurationTarget.Workspace);
  });

  test('Train Model trains in PyTorch; Stop Training ends the run at a checkpoint', async () => {
    const uri = vscode.Uri.file(configFile());
    await vscode.window.showTextDocument(uri);
    let runId: string | undefined;
    const started = nextRunEvent(api, () => runId, ['started'], 300_000);
    const progress = nextRunEvent(api, () => runId, ['progress'], 300_000);
    const ended = nextRunEvent(api, () => runId, ['finished', 'failed'], 600_000);
    const outcome = (await vscode.commands.executeCommand('rpg.train', uri)) as TrainOutcome;
    assert.ok(outcome.ok, JSON.stringify(outcome));
    runId = outcome.runId;
    const s = await started;
    assert.equal(s.engine, 'torch');
    assert.equal(s.backend, 'cpu');
    await progress;
    await vscode.commands.executeCommand('rpg.stop');
    const end = await ended;
    assert.equal(end.kind, 'finished', JSON.stringify(end));
    assert.equal(end.status, 'stopped');
    const record = JSON.parse(readFileSync(path.join(s.runDir, 'run.json'), 'utf8'));
    assert.deepEqual([record.status, record.engine], ['stopped', 'torch']);
    assert.ok(existsSync(path.join(s.runDir, 'checkpoint.bin')), 'the stop wrote a checkpoint');
  });
});
