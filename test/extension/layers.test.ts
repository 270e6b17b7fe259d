// The Layers view: every layer of the active config's plan, totals first, free parameters
// apart, updated from the unsaved text while the user types.
import * as assert from 'node:assert/strict';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import { fixtureUri, rpgApi, treeLines, waitFor } from './util';

suite('layers view', function () {
  this.timeout(90_000);

  test('shows every layer of the active config', async () => {
    const api = await rpgApi();
    const doc = await vscode.workspace.openTextDocument(fixtureUri('long.rpg.json'));
    await vscode.window.showTextDocument(doc);
    await waitFor('the Layers view to follow the editor', () => api.layersTree.documentUri?.fsPath === doc.uri.fsPath);
    const outcome = await api.layersTree.currentPlan();
    assert.ok(outcome?.ok, JSON.stringify(outcome));
    const plan = outcome.plan;
    const lines = await treeLines(api.layersTree);
    console.log(lines.slice(0, 14).map((l) => `      ${l}`).join('\n'));
    assert.match(lines[0]!, /^Totals — [\d,]+ params · DoF [\d,]+/);
    assert.ok(plan.layers.length >= 5, `lenet5 has ${plan.layers.length} generated layers`);
    for (const layer of plan.layers) {
      const at = lines.findIndex((l) => l.trimStart().startsWith(`${layer.name} — `));
      assert.ok(at >= 0, `layer ${layer.name} missing from\n${lines.join('\n')}`);
      const details = lines.slice(at + 1, at + 7).join('\n');
      assert.match(details, /shape — /);
      assert.match(details, /ring slices — /);
      assert.match(details, /reuse — /);
      assert.match(details, /scale — /);
    }
    assert.ok(lines.some((l) => /^Free parameters — /.test(l)));
    for (const p of plan.free) assert.ok(lines.some((l) => l.trimStart().startsWith(`${p.name} — `)), `free ${p.name}`);
  });

  test('follows unsaved edits (debounced plan of the editor text)', async () => {
    const api = await rpgApi();
    const doc = await vscode.workspace.openTextDocument(fixtureUri('tiny.rpg.json'));
    const editor = await vscode.window.showTextDocument(doc);
    await waitFor('tiny in the Layers view', async () => api.layersTree.documentUri?.fsPath === doc.uri.fsPath && (await api.layersTree.currentPlan())?.ok);
    const before = (await api.layersTree.currentPlan())!;
    assert.ok(before.ok);
    const n = before.plan.layers.length;
    const at = doc.getText().indexOf('"hidden": [32]');
    await editor.edit((e) => e.replace(new vscode.Range(doc.positionAt(at), doc.positionAt(at + '"hidden": [32]'.length)), '"hidden": [32, 16]'));
    const lines = await waitFor('a layer more in the tree', async () => {
      const o = await api.layersTree.currentPlan();
      return o?.ok && o.plan.layers.length === n + 1 && (await treeLines(api.layersTree));
    });
    assert.ok(lines.some((l) => l.startsWith('Generated layers')));
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  test('a typo or a half-typed edit keeps the last plan, marked stale, in the view and the CodeLens', async () => {
    const api = await rpgApi();
    const doc = await vscode.workspace.openTextDocument(fixtureUri('tiny.rpg.json'));
    const editor = await vscode.window.showTextDocument(doc);
    await waitFor('tiny planned', async () => api.layersTree.documentUri?.fsPath === doc.uri.fsPath && (await api.layersTree.currentPlan())?.ok);
    const good = (await treeLines(api.layersTree)).find((l) => l.startsWith('Totals'));
    for (const [what, from, to] of [['a typo', '"epochs": 1', '"epocs": 1'], ['half-typed JSON', '"epochs": 1', '"epochs": 1, "']] as const) {
      const at = doc.getText().indexOf(from);
      await editor.edit((e) => e.replace(new vscode.Range(doc.positionAt(at), doc.positionAt(at + from.length)), to));
      const lines = await waitFor(`the stale plan after ${what}`, async () => {
        const o = await api.layersTree.currentPlan();
        return o && !o.ok && o.version === doc.version && (await treeLines(api.layersTree, 1));
      });
      assert.match(lines[0]!, /^Stale plan \(the config has an error\) — /, lines.join('\n'));
      assert.equal(lines[1], good, `the last good totals stay: ${lines.join('\n')}`);
      assert.ok(lines.some((l) => l.startsWith('Generated layers')));
      const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 10)) ?? [];
      const titles = lenses.map((l) => l.command?.title ?? '');
      assert.ok(titles.some((t) => /Stale plan: [\d,]+ params, DoF/.test(t)), titles.join(' | '));
      await vscode.commands.executeCommand('workbench.action.files.revert');
      await waitFor('the fresh plan again', async () => (await api.layersTree.currentPlan())?.ok);
    }
  });
});
