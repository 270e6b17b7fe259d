// The extension's panel commands call the webview owner's panels: Show Ring Mapping and Show
// Training Curves and Compare Runs open webview tabs (their content is tested by the webview suites).
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import { fixtureUri, rpgApi, waitFor } from './util';

const webviewTabs = (viewTypeFragment: string) =>
  vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes(viewTypeFragment));

suite('panel commands', function () {
  this.timeout(60_000);

  test('Show Ring Mapping opens the mapping panel for a config', async () => {
    await rpgApi();
    await vscode.commands.executeCommand('rpg.showRingMapping', fixtureUri('tiny.rpg.json'));
    await waitFor('a ring mapping webview tab', () => webviewTabs('ringMapping').length > 0);
  });

  test('Show Training Curves (the status bar click) opens the curves panel', async () => {
    await rpgApi();
    await vscode.commands.executeCommand('rpg.showTrainingCurves');
    await waitFor('a training curves webview tab', () => webviewTabs('trainingCurves').length > 0);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('Compare Runs opens one table, and a second call shows the same one', async () => {
    await rpgApi();
    await vscode.commands.executeCommand('rpg.compareRuns');
    await waitFor('a compare runs webview tab', () => webviewTabs('compareRuns').length > 0);
    await vscode.commands.executeCommand('rpg.compareRuns');
    await waitFor('still one compare runs tab', () => webviewTabs('compareRuns').length === 1);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
