// What the trainer says its convolutions run on, and that it matches the package the user
// installed: a platform .vsix for this machine (e2e mode B in CI installs the linux-x64 one)
// must train on the oneDNN addon it carries; the universal .vsix says it has none. Unpacked from a
// checkout (mode A) the line is printed only: the addon there depends on libdnnl-dev at npm ci.
import * as assert from 'node:assert/strict';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import { EXTENSION_ID, rpgApi, waitFor } from './util';

interface PackageTarget {
  readonly target: string;
}

suite('packaged extension', function () {
  this.timeout(180_000);

  test('the trainer reports the convolutions of the installed package', async () => {
    const api = await rpgApi();
    const packaged = (vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { rpgPackageTarget?: PackageTarget }).rpgPackageTarget;
    // A fresh trainer on backend "auto", so that wasm (and its convolutions) is probed.
    assert.equal(vscode.workspace.getConfiguration('rpg').get('trainer.backend'), 'auto');
    await vscode.commands.executeCommand('rpg.restartTrainer', { confirmed: true });
    const info = await waitFor('the trainer to be ready', () => api.trainer.state.kind === 'ready' && api.trainer.state.info, 120_000);
    const wasm = info.backends.find((b) => b.name === 'wasm');
    const webgpu = info.backends.find((b) => b.name === 'webgpu');
    console.log(`      ${packaged ? `installed ${packaged.target} .vsix` : 'unpacked checkout'}: wasm: ${wasm?.detail}`);
    console.log(`      webgpu: ${webgpu?.detail}`);
    assert.ok(wasm?.available, `wasm must be available: ${wasm?.detail}`);
    const host = `${process.platform}-${process.arch}`;
    if (packaged?.target === host) {
      assert.match(wasm.detail, /oneDNN .*\(native addon\)/, `the ${host} .vsix must train on its oneDNN addon`);
      assert.doesNotMatch(webgpu?.detail ?? '', /not in this package|not installed/, `the ${host} .vsix carries Dawn`);
    } else if (packaged) {
      assert.match(wasm.detail, /convolutions: tfjs-wasm — this package \(\S+ \.vsix\) has no native addon for /);
      assert.match(webgpu?.detail ?? '', /not in this package/);
    }
    if (process.env.RPG_E2E_MODE === 'vsix' && process.env.RPG_E2E_EXPECT_TARGET) {
      assert.equal(packaged?.target, process.env.RPG_E2E_EXPECT_TARGET, 'the installed .vsix is the one CI built for this machine');
    }
  });
});
