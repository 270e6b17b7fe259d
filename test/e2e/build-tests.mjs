#!/usr/bin/env node
// Bundles the extension-host test suite: test/extension/index.ts -> out/test/index.js (the
// extensionTestsPath entry) and every test/extension/**/*.test.ts -> out/test/**/*.test.js.
// Uses esbuild from the repo root's node_modules (root `npm ci` must have run). `vscode` is
// provided by the extension host; `mocha` resolves at run time from the root node_modules
// (it is a root devDependency), so runner and suites share one mocha instance.
import { createRequire } from 'node:module';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const esbuild = createRequire(join(repo, 'package.json'))('esbuild');

const srcDir = join(repo, 'test/extension');
const outDir = join(repo, 'out/test');

const suites = readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
  .filter((rel) => rel.endsWith('.test.ts'))
  .sort();
const entryPoints = { index: join(srcDir, 'index.ts') };
for (const rel of suites) entryPoints[rel.replace(/\.ts$/, '')] = join(srcDir, rel);

rmSync(outDir, { recursive: true, force: true });
await esbuild.build({
  entryPoints,
  outdir: outDir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  // tfjs loads its .wasm files next to its own JS, as in the extension build.
  external: ['vscode', 'mocha', '@tensorflow/*'],
  // As esbuild.mjs: prefer ESM builds (jsonc-parser's UMD main has requires esbuild cannot follow).
  mainFields: ['module', 'main'],
  logLevel: 'warning',
});
console.log(`[build-tests] ${suites.length} suite(s) -> ${relative(repo, outDir)}/: ${suites.join(', ')}`);
