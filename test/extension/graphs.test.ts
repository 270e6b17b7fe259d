// Graph-declared models and the vision transformer in VS Code, like any built-in: the Layers
// view lists their generated layers (every repeat of a block, the attention projections) and
// their free parameters, Train Model trains them to a finished run, and the ring mapping opens.
import * as assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import * as vscode from 'vscode';
import type { RpgStudioApi } from '../../src/extension/main';
import type { TrainOutcome } from '../../src/extension/training';
import { fixtureUri, nextRunEvent, rpgApi, treeLines, waitFor, workspaceDir } from './util';

const webviewTabs = (viewTypeFragment: string) =>
  vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes(viewTypeFragment));

suite('graph and ViT models', function () {
  this.timeout(180_000);
  let api: RpgStudioApi;

  suiteSetup(async () => {
    api = await rpgApi();
    await vscode.workspace.getConfiguration('rpg').update('notifications', 'errors', vscode.ConfigurationTarget.Workspace);
  });

  suiteTeardown(async () => {
    await vscode.workspace.getConfiguration('rpg').update('notifications', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    // Later suites look for the first finished run in the Experiments tree: leave none behind.
    for (const name of ['graph', 'vit']) rmSync(path.join(workspaceDir(), 'runs', name), { recursive: true, force: true });
    await api.refreshRuns();
  });

  test('the Layers view shows a graph model\'s layers: each repeat of a block, attention projections, the free stem', async () => {
    const doc = await vscode.workspace.openTextDocument(fixtureUri('graph.rpg.json'));
    await vscode.window.showTextDocument(doc);
    await waitFor('the Layers view to follow the graph config', async () => api.layersTree.documentUri?.fsPath === doc.uri.fsPath && (await api.layersTree.currentPlan())?.ok);
    const outcome = (await api.layersTree.currentPlan())!;
    assert.ok(outcome.ok, JSON.stringify(outcome));
    const names = outcome.plan.layers.map((l) => l.name);
    for (const n of ['stage.0.conv1.kernel', 'stage.0.conv2.kernel', 'stage.1.conv1.kernel', 'stage.1.conv2.kernel', 'attn.query.kernel', 'attn.output.kernel', 'head.kernel']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    assert.ok(!names.includes('stem.kernel'), 'rpg.free keeps the stem free');
    const lines = await treeLines(api.layersTree);
    console.log(lines.slice(0, 12).map((l) => `      ${l}`).join('\n'));
    assert.match(lines[0]!, /^Totals — 2,810 params · DoF 434/);
    for (const layer of outcome.plan.layers) {
      const at = lines.findIndex((l) => l.trimStart().startsWith(`${layer.name} — `));
      assert.ok(at >= 0, `layer ${layer.name} missing from\n${lines.join('\n')}`);
      assert.match(lines.slice(at + 1, at + 7).join('\n'), /ring slices — /);
    }
    for (const p of ['stem.kernel', 'stage.1.bn.gamma', 'attn.query.bias']) assert.ok(lines.some((l) => l.trimStart().startsWith(`${p} — `)), `free ${p}`);
  });

  for (const [fixture, layer] of [['graph.rpg.json', 'stage.1.conv2.kernel'], ['vit.rpg.json', 'blocks.0.attn.key.kernel']] as const) {
    test(`Train Model trains ${fixture} to a finished run; its plan has ${layer}; the ring mapping opens`, async () => {
      const uri = fixtureUri(fixture);
      await vscode.window.showTextDocument(uri);
      let runId: string | undefined;
      const started = nextRunEvent(api, () => runId, ['started']);
      const finished = nextRunEvent(api, () => runId, ['finished', 'failed']);
      const outcome = (await vscode.commands.executeCommand('rpg.train', uri)) as TrainOutcome;
      assert.ok(outcome?.ok, `train failed: ${JSON.stringify(outcome)}`);
      runId = outcome.runId;
      const { runDir } = await started;
      const end = await finished;
      assert.equal(end.kind, 'finished', JSON.stringify(end));
      const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { status: string };
      assert.equal(record.status, 'finished');
      const plan = await waitFor(`${fixture} in the Layers view`, async () => {
        const o = await api.layersTree.currentPlan();
        return api.layersTree.documentUri?.fsPath === uri.fsPath && o?.ok && o.plan;
      });
      assert.ok(plan.layers.some((l) => l.name === layer));
      await vscode.commands.executeCommand('rpg.showRingMapping', uri);
      await waitFor('a ring mapping webview tab', () => webviewTabs('ringMapping').length > 0);
    });
  }
});
