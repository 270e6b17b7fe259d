#!/usr/bin/env node
// The extension-host suite (test/extension/*.test.ts, bundled to out/test/ by
// test/e2e/build-tests.mjs) in desktop VS Code through @vscode/test-electron, for contributors
// whose machine can download VS Code:   npm run test:electron
// It is the same suite CI runs in code-server (test/e2e/run.mjs --dev): the extension-host test
// API is one, so nothing here is specific to a desktop. VS Code is downloaded into .vscode-test/
// on first use (RPG_VSCODE_VERSION picks one; default: the version engines.vscode names).
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const version = process.env.RPG_VSCODE_VERSION ?? pkg.engines.vscode.replace(/^[\^~>=]+/, '');
const { runTests, downloadAndUnzipVSCode } = await import('@vscode/test-electron');

// A fresh copy of the fixture workspace, as the code-server harness uses.
const workspace = join(mkdtempSync(join(tmpdir(), 'rpg-electron-')), 'workspace');
cpSync(join(repo, 'test/e2e/fixtures/workspace'), workspace, { recursive: true });

let vscodeExecutablePath;
try {
  vscodeExecutablePath = await downloadAndUnzipVSCode(version);
} catch (err) {
  console.error(`test:electron: could not download VS Code ${version} (${err?.message ?? err}).`);
  console.error('This needs a machine that reaches the VS Code download servers; without one, run the same suite in code-server: node test/e2e/run.mjs --dev (test/e2e/README.md).');
  process.exit(2);
}
try {
  await runTests({
    vscodeExecutablePath,
    extensionDevelopmentPath: repo,
    extensionTestsPath: join(repo, 'out/test/index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
    extensionTestsEnv: { ...(process.env.RPG_E2E_GREP ? { RPG_E2E_GREP: process.env.RPG_E2E_GREP } : {}) },
  });
} catch (err) {
  console.error(`test:electron: ${err?.message ?? err}`);
  process.exit(1);
}
