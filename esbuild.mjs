// One build for every bundle: the extension (vscode external), the trainer and CLI (Node),
// the language server, and the webview apps (browser). `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
// tfjs stays external in Node bundles: its wasm backend loads .wasm files next to its own JS.
// webgpu (Dawn) too: an ES module that finds its dawn.node through import.meta.url; the CJS
// bundles load it with a dynamic import(), which esbuild leaves as is for an external package.
const nodeExternal = ['vscode', '@tensorflow/*', 'webgpu'];
// mainFields: prefer ESM builds; jsonc-parser's UMD main has requires esbuild cannot follow.
const node = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, external: nodeExternal, logLevel: 'warning', mainFields: ['module', 'main'] };

const entries = [
  { entryPoints: { extension: 'src/extension/main.ts' }, ...node },
  { entryPoints: { trainer: 'src/trainer/main.ts' }, ...node },
  { entryPoints: { server: 'src/server/main.ts' }, ...node },
  // The extension's worker thread for the ring mapping's layer weights (no vscode, no tfjs).
  { entryPoints: { 'layer-weights-worker': 'src/extension/layer-weights/worker.ts' }, ...node },
  { entryPoints: { cli: 'src/cli/main.ts' }, ...node, banner: { js: '#!/usr/bin/env node' } },
  // bench/gpu.sh's benchmark: packed with a node binary for GPU machines that have no Node.
  { entryPoints: { 'gpu-bench': 'bench/gpu-bench.ts' }, ...node },
  // Webview bundles are minified (mapping 28 → 17 KB, curves 183 → 73 KB): each webview page
  // loads and parses them on every open; the source maps keep them debuggable.
  { entryPoints: { 'webview-mapping': 'webview-ui/src/mapping/main.ts', 'webview-curves': 'webview-ui/src/curves/main.ts' },
    bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: true, minify: true, logLevel: 'warning', loader: { '.css': 'css' } },
];

// A renamed entry must fail the build, not silently drop a bundle.
const missing = entries.flatMap((o) => Object.values(o.entryPoints)).filter((p) => !existsSync(p));
if (missing.length) throw new Error(`esbuild.mjs: entry point(s) not found: ${missing.join(', ')}`);

for (const options of entries) {
  const opts = { ...options, outdir: 'dist' };
  if (watch) await (await esbuild.context(opts)).watch();
  else await esbuild.build(opts);
}
