// The language server through the real client: a config whose DoF exceeds its parameter count
// gets an error diagnostic; applying the offered quick fix makes it disappear.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import { rpgApi, waitFor, workspaceDir } from './util';

suite('language server', function () {
  this.timeout(60_000);

  test('DoF error diagnostic and its quick fix', async () => {
    await rpgApi();
    const file = path.join(workspaceDir(), 'bad-dof.rpg.json');
    writeFileSync(file, '// too many degrees of freedom\n{\n  "name": "bad-dof",\n  "model": { "arch": "mlp", "hidden": [32] },\n  "rpg": { "dof": 99999999 },\n  "data": { "dataset": "mnist-embedded" }\n}\n');
    const uri = vscode.Uri.file(file);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    assert.equal(doc.languageId, 'rpg-config');
    const dofErrors = () => vscode.languages.getDiagnostics(uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error && /dof/i.test(`${d.message} ${String(typeof d.code === 'object' ? d.code.value : d.code)}`));
    const [diag] = await waitFor('the DoF error', () => dofErrors().length > 0 && dofErrors());
    console.log(`      diagnostic: ${diag!.message}`);
    assert.equal(doc.getText(diag!.range), '99999999');

    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, diag!.range, vscode.CodeActionKind.QuickFix.value);
    const fix = actions.find((a) => /DoF/.test(a.title) && a.edit);
    assert.ok(fix, `quick fixes: ${actions.map((a) => a.title).join(' | ')}`);
    console.log(`      applying: ${fix.title}`);
    assert.ok(await vscode.workspace.applyEdit(fix.edit!));
    await waitFor('the DoF error to disappear', () => dofErrors().length === 0);
    await doc.save();
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    await vscode.workspace.fs.delete(uri);
  });
});
