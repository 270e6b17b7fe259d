// The WebGPU backend from VS Code: with rpg.trainer.backend "webgpu" the trainer starts on the
// adapter Dawn offers (in CI, the software adapter that `npm run setup:software-gpu` installs)
// and the status bar names it ("webgpu · <adapter>"). Skipped only where no Vulkan driver is
// configured (VK_DRIVER_FILES unset); RPG_REQUIRE_WEBGPU=1, as in CI, makes that a failure.
import * as assert from 'node:assert/strict';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import * as vscode from 'vscode';
import type { RpgStudioApi } from '../../src/extension/main';
import { rpgApi, waitFor } from './util';

suite('webgpu backend', function () {
  this.timeout(300_000);
  let api: RpgStudioApi;

  suiteSetup(async function () {
    if (!process.env.VK_DRIVER_FILES && process.env.RPG_REQUIRE_WEBGPU !== '1') this.skip();
    api = await rpgApi();
    await vscode.workspace.getConfiguration('rpg').update('trainer.backend', 'webgpu', vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('rpg.restartTrainer', { confirmed: true });
  });

  suiteTeardown(async () => {
    if (!api) return;
    await vscode.workspace.getConfiguration('rpg').update('trainer.backend', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('rpg.restartTrainer', { confirmed: true });
  });

  test('the status bar shows the WebGPU adapter the trainer runs on', async () => {
    const text = await waitFor('the status bar to name the adapter', () => /webgpu · \S/.test(api.statusBarText) && api.statusBarText, 240_000);
    console.log(`      status bar: ${text}`);
    assert.match(text, /RPG: webgpu · (llvmpipe|\S)/);
    assert.equal(api.trainer.state.kind, 'ready');
  });
});
