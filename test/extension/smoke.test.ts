// Smallest possible check that the extension-host test pipeline works: VS Code is running and
// RPG Studio (publisher rpg-studio, name rpg-studio, from the root package.json) is installed.
import * as assert from 'node:assert/strict';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';

const EXTENSION_ID = 'rpg-studio.rpg-studio';

suite('smoke', () => {
  test('runs inside VS Code', () => {
    assert.equal(typeof vscode.version, 'string');
    assert.match(vscode.version, /^\d+\.\d+\.\d+/);
  });

  test(`extension ${EXTENSION_ID} is present`, () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    const ids = vscode.extensions.all.map((e) => e.id);
    assert.ok(ext, `${EXTENSION_ID} not among ${ids.length} extensions: ${ids.join(', ')}`);
    console.log(`      ${EXTENSION_ID} ${ext.packageJSON.version} from ${ext.extensionPath}`);
  });
});
