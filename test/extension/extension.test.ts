// Activation, contributions and the pure pieces behind commands (trust gate, template, field
// location), checked inside a real VS Code.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import { fillTemplate } from '../../src/extension/new-experiment';
import { trainingBlockedReason } from '../../src/extension/trust';
import { fixtureUri, rpgApi, waitFor, workspaceDir } from './util';

const COMMANDS = [
  'rpg.train',
  'rpg.stop',
  'rpg.resume',
  'rpg.newExperiment',
  'rpg.showRingMapping',
  'rpg.showTrainingCurves',
  'rpg.openRunFolder',
  'rpg.restartTrainer',
];

suite('extension', () => {
  test('activates without starting the trainer and returns its API', async () => {
    const api = await rpgApi();
    assert.equal(api.trainer.pid, undefined, 'activation must not start the trainer');
    await api.refreshRuns();
    const names = api.configs.map((c) => c.name).sort();
    assert.ok(names.includes('tiny') && names.includes('long'), `configs found: ${names.join(', ')}`);
  });

  test('registers every command', async () => {
    await rpgApi();
    const all = new Set(await vscode.commands.getCommands(true));
    const missing = COMMANDS.filter((c) => !all.has(c));
    assert.deepEqual(missing, []);
  });

  test('.rpg.json files get the rpg-config language', async () => {
    const doc = await vscode.workspace.openTextDocument(fixtureUri('tiny.rpg.json'));
    assert.equal(doc.languageId, 'rpg-config');
  });

  test('status bar shows RPG before any training', async () => {
    const api = await rpgApi();
    assert.match(api.statusBarText, /RPG/);
  });

  test('training is gated on workspace trust', () => {
    assert.equal(trainingBlockedReason(true), undefined);
    assert.match(trainingBlockedReason(false) ?? '', /Restricted Mode/);
    // This workbench trusts its workspace, so Train is allowed here.
    assert.equal(vscode.workspace.isTrusted, true);
  });

  test('the new-experiment template fills every placeholder', () => {
    const ext = vscode.extensions.getExtension('rpg-studio.rpg-studio')!;
    const template = readFileSync(path.join(ext.extensionPath, 'templates', 'experiment.rpg.json'), 'utf8');
    const text = fillTemplate(template, { arch: 'lenet5', dataset: 'cifar10', dof: '5%', name: 'x' });
    assert.doesNotMatch(text, /\{\{\w+\}\}/);
    assert.match(text, /"dof": "5%"/);
    assert.match(text, /"path": "data\/cifar10"/);
  });

  test('New Experiment scaffolds a commented config and opens it', async () => {
    const uri = (await vscode.commands.executeCommand('rpg.newExperiment', { arch: 'mlp', dataset: 'mnist-embedded', dof: '5%', name: 'scaffolded' })) as vscode.Uri;
    assert.ok(uri && existsSync(uri.fsPath));
    assert.equal(path.dirname(uri.fsPath), workspaceDir());
    const text = readFileSync(uri.fsPath, 'utf8');
    assert.match(text, /^\/\/ /, 'starts with a comment');
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, uri.fsPath);
    const api = await rpgApi();
    await waitFor('the new config in the Experiments model', async () => {
      await api.refreshRuns();
      return api.configs.some((c) => c.name === 'scaffolded');
    });
    await vscode.workspace.fs.delete(uri);
  });

  test('Open Config selects the field an error names (or its nearest written parent)', async () => {
    const file = path.join(workspaceDir(), 'fields.rpg.json');
    writeFileSync(file, '// c\n{\n  "train": { "lr": -1, "epochs": 2 },\n  "model": { "arch": "mlp", "hidden": [32, 16] }\n}\n');
    const uri = vscode.Uri.file(file);
    const selected = async (field: string) => {
      await vscode.commands.executeCommand('rpg.openConfig', { uri, field });
      const editor = vscode.window.activeTextEditor!;
      return editor.document.getText(editor.selection);
    };
    assert.equal(await selected('train.lr'), '"lr": -1');
    assert.equal(await selected('model.hidden.1'), '16');
    assert.match(await selected('train.momentum'), /^"train": \{ "lr": -1, "epochs": 2 \}$/);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    await vscode.workspace.fs.delete(uri);
  });
});
