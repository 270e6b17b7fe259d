// Activation, contributions and the pure pieces behind commands (trust gate, template, field
// location), checked inside a real VS Code.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import { fillTemplate } from '../../src/extension/new-experiment';
import { trainingBlockedReason } from '../../src/extension/trust';
import { EXTENSION_ID, fixtureUri, rpgApi, treeLines, waitFor, workspaceDir } from './util';

/** Every command the manifest contributes. */
function contributedCommands(): string[] {
  const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
  const commands = (ext.packageJSON as { contributes?: { commands?: { command: string }[] } }).contributes?.commands ?? [];
  return commands.map((c) => c.command);
}

suite('extension', () => {
  test('activates without starting the trainer and returns its API', async () => {
    const api = await rpgApi();
    assert.equal(api.trainer.pid, undefined, 'activation must not start the trainer');
    // A figure, printed, never asserted (loaded CI machines vary).
    const load = api.bundleLoadMs ?? 0;
    console.log(`      activation of our code: ${(load + api.activationMs).toFixed(0)} ms (evaluating the bundle ${load.toFixed(0)} ms + activate() ${api.activationMs.toFixed(0)} ms; target < 100 ms, ${process.env.RPG_E2E_MODE === 'vsix' ? 'installed .vsix' : 'unpacked'})`);
    await api.refreshRuns();
    const names = api.configs.map((c) => c.name).sort();
    assert.ok(names.includes('tiny') && names.includes('long'), `configs found: ${names.join(', ')}`);
  });

  test('registers every command', async () => {
    await rpgApi();
    const all = new Set(await vscode.commands.getCommands(true));
    const contributed = contributedCommands();
    assert.ok(contributed.length >= 10, `${contributed.length} commands in package.json`);
    const missing = contributed.filter((c) => !all.has(c));
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
    // Values are JSON-encoded: a quote or a newline cannot change the file's structure.
    const odd = fillTemplate(template, { arch: 'resnet34', dataset: 'mnist-embedded', dof: 12, name: 'a"b\nc' });
    assert.match(odd, /"name": "a\\"b\\nc"/);
    assert.match(odd, /"arch": "resnet34", "smallInput": true/);
    assert.match(odd, /"dof": 12/);
  });

  test('New Experiment refuses invalid arguments instead of writing them', async () => {
    for (const bad of [{ arch: 'vgg', dataset: 'mnist-embedded', dof: '5%', name: 'bad1' }, { arch: 'mlp', dataset: 'mnist-embedded', dof: 'lots', name: 'bad2' }, { arch: 'mlp', dataset: 'mnist-embedded', dof: '5%', name: '../escape' }]) {
      const uri = await vscode.commands.executeCommand('rpg.newExperiment', bad);
      assert.equal(uri, undefined, JSON.stringify(bad));
    }
    for (const name of ['bad1', 'bad2']) assert.ok(!existsSync(path.join(workspaceDir(), `${name}.rpg.json`)), `${name}.rpg.json was written`);
    assert.ok(!existsSync(path.join(path.dirname(workspaceDir()), 'escape.rpg.json')), '../escape.rpg.json was written');
  });

  test('a run left "running" by a dead process reads as interrupted: resumable, deletable, not active', async () => {
    const api = await rpgApi();
    const runDir = path.join(workspaceDir(), 'runs', 'tiny', '1999-01-01T00-00-00-000Z');
    mkdirSync(runDir, { recursive: true });
    const record = { runId: '1999-01-01T00-00-00-000Z', name: 'tiny', config: {}, status: 'running', backend: 'cpu', arch: 'mlp', dataset: 'mnist-embedded', dof: 10, ringSize: 10, totalParams: 100, startedAt: '1999-01-01T00:00:00.000Z', durationSec: 1, step: 3, epoch: 0, pid: 2 ** 22 + 4321, hostname: os.hostname() };
    writeFileSync(path.join(runDir, 'run.json'), JSON.stringify(record));
    writeFileSync(path.join(runDir, 'checkpoint.bin'), 'not read by the tree');
    try {
      await api.refreshRuns();
      const run = api.runs.find((r) => r.dir === runDir);
      assert.ok(run, 'the run is listed');
      assert.equal(run.status, 'failed');
      assert.equal(run.interrupted, true);
      assert.ok(!api.runs.some((r) => r.dir === runDir && (r.status === 'running' || r.status === 'queued')));
      const lines = await treeLines(api.experimentsTree);
      assert.ok(lines.some((l) => /^ {2}interrupted at step 3 — .*1999-01-01 00:00$/.test(l)), lines.join('\n'));
      // The record on disk is left alone (another process may own the folder).
      assert.equal(JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')).status, 'running');
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  test('a run another process trains reads "running elsewhere": listed, not ours to follow or stop', async () => {
    const api = await rpgApi();
    // A live process that is not this trainer: a child that waits.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    const runDir = path.join(workspaceDir(), 'runs', 'tiny', '2001-01-01T00-00-00-000Z');
    mkdirSync(runDir, { recursive: true });
    const owner = { pid: other.pid!, hostname: os.hostname(), startedAt: '2001-01-01T00:00:00.000Z' };
    const record = { runId: '2001-01-01T00-00-00-000Z', name: 'tiny', config: {}, status: 'running', backend: 'wasm', arch: 'mlp', dataset: 'mnist-embedded', dof: 10, ringSize: 10, totalParams: 100, startedAt: owner.startedAt, durationSec: 4, step: 40, epoch: 0, pid: owner.pid, hostname: owner.hostname };
    writeFileSync(path.join(runDir, 'run.json'), JSON.stringify(record));
    writeFileSync(path.join(runDir, 'run.lock'), JSON.stringify(owner));
    try {
      await api.refreshRuns();
      const run = api.runs.find((r) => r.dir === runDir);
      assert.ok(run?.elsewhere, 'the run is trained elsewhere');
      assert.equal(run.elsewhere.pid, owner.pid);
      const lines = await treeLines(api.experimentsTree);
      const row = lines.find((l) => l.includes('2001-01-01 00:00'));
      assert.match(row ?? '', new RegExp(`^ {2}running elsewhere — step 40 · pid ${owner.pid} · 2001-01-01 00:00$`), lines.join('\n'));
      assert.ok(!lines.some((l) => /^tiny\b/.test(l) && /beaker~spin/.test(l)));
      assert.doesNotMatch(api.statusBarText, /samples\/s/, 'the status bar does not follow another process\'s run');
      assert.deepEqual(await vscode.commands.executeCommand('rpg.stop', runDir), [], 'Stop does not reach another process');
    } finally {
      other.kill();
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  test('runs of a copied workspace stay under their configs (path relative to the run, or the config name)', async () => {
    const api = await rpgApi();
    const base = { config: {}, status: 'finished', backend: 'wasm', arch: 'mlp', dataset: 'mnist-embedded', dof: 10, ringSize: 10, totalParams: 100, durationSec: 2, step: 8, epoch: 1, finalAcc: 0.5, bestAcc: 0.55 };
    const made: string[] = [];
    const write = (id: string, extra: Record<string, unknown>) => {
      const dir = path.join(workspaceDir(), 'runs', 'tiny', id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ ...base, runId: id, name: 'tiny', startedAt: '2002-01-01T00:00:00.000Z', ...extra }));
      made.push(dir);
      return dir;
    };
    // Recorded in a workspace that was somewhere else: the absolute path is wrong now.
    const rel = write('2002-01-01T00-00-00-000Z', { configPath: '/elsewhere/ws/tiny.rpg.json', configRelPath: '../../../tiny.rpg.json' });
    const old = write('2002-01-01T00-00-01-000Z', { configPath: '/elsewhere/ws/tiny.rpg.json' });
    try {
      await api.refreshRuns();
      const lines = await treeLines(api.experimentsTree);
      const tinyAt = lines.findIndex((l) => /^tiny — /.test(l));
      const nextConfig = lines.findIndex((l, i) => i > tinyAt && /^\S/.test(l));
      const under = lines.slice(tinyAt + 1, nextConfig < 0 ? undefined : nextConfig);
      for (const id of ['2002-01-01 00:00']) assert.equal(under.filter((l) => l.includes(id)).length, 2, `both runs under tiny:\n${lines.join('\n')}`);
      assert.ok(!lines.includes('Runs without a config') || !lines.slice(lines.indexOf('Runs without a config')).some((l) => l.includes('2002-01-01')), lines.join('\n'));
      // The run label leads with the final test accuracy, which a narrow sidebar still shows.
      assert.ok(under.some((l) => /^ {2}50\.0% test — DoF 10 · 2\.0 s · 2002-01-01 00:00$/.test(l)), under.join('\n'));
      assert.ok(rel && old);
    } finally {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    }
  });

  test('Delete Run only deletes run folders the model found', async () => {
    const api = await rpgApi();
    const victim = path.join(workspaceDir(), 'not-a-run');
    mkdirSync(victim, { recursive: true });
    writeFileSync(path.join(victim, 'keep.txt'), 'x');
    try {
      for (const arg of [victim, vscode.Uri.file(victim), { runId: 'x', dir: victim, status: 'finished' }, { kind: 'run', run: { runId: 'x', dir: victim, status: 'finished' } }]) {
        assert.equal(await vscode.commands.executeCommand('rpg.deleteRun', arg), false);
      }
      assert.ok(existsSync(path.join(victim, 'keep.txt')), 'an arbitrary folder survives');
      await api.refreshRuns();
    } finally {
      rmSync(victim, { recursive: true, force: true });
    }
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

  test('New Experiment: finds the dataset on this machine, refuses a DoF larger than the model, and its file opens without errors', async function () {
    const fashion = '/usr/share/datasets/fashion-mnist';
    if (!existsSync(fashion)) this.skip(); // .ci/run installs Debian's dataset-fashion-mnist
    assert.equal(await vscode.commands.executeCommand('rpg.newExperiment', { arch: 'lenet5', dataset: 'fashion-mnist', dof: '150%', name: 'too-big' }), undefined);
    assert.ok(!existsSync(path.join(workspaceDir(), 'too-big.rpg.json')));
    const uri = (await vscode.commands.executeCommand('rpg.newExperiment', { arch: 'lenet5', dataset: 'fashion-mnist', dof: '10%', epochs: 10, name: 'wizard-fashion' })) as vscode.Uri;
    try {
      const text = readFileSync(uri.fsPath, 'utf8');
      assert.match(text, /"path": "\/usr\/share\/datasets\/fashion-mnist"/, 'the folder found here, not a placeholder');
      assert.match(text, /"epochs": 10/);
      // The language server analysed it (its DoF note is there) and found nothing wrong.
      const diagnostics = await waitFor('the analysis of the new config', () => {
        const d = vscode.languages.getDiagnostics(uri);
        return d.some((x) => x.code && String(typeof x.code === 'object' ? x.code.value : x.code) === 'rpg-dof-resolved') && d;
      });
      assert.deepEqual(diagnostics.filter((d) => d.severity !== vscode.DiagnosticSeverity.Information).map((d) => d.message), []);
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
      await vscode.workspace.fs.delete(uri);
    }
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
