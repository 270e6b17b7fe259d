// Packs what bench/gpu.sh runs on a bare GPU machine (PyTorch and CUDA, no Node) into one folder:
// this machine's own Node binary, the bundled GPU benchmark (dist/gpu-bench.js), the node_modules
// files it loads (found by loading them here, not guessed), the PyTorch reference script, the
// Vulkan loader (for machines without libvulkan1) and gpu.sh itself. Nothing is downloaded.
//
// usage: node bench/gpu-pack.mjs OUT_DIR   (after `npm run build`)
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
if (!out) throw new Error('usage: node bench/gpu-pack.mjs OUT_DIR');
const bundle = join(root, 'dist', 'gpu-bench.js');
if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build first`);

// The packages the bundle leaves external (esbuild.mjs) and loads at run time. Loading them here
// in a child process lists every file they pull in, native addons (dawn.node) included.
const probe = `
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis.navigator ?? (globalThis.navigator = {}), 'gpu', { value: create([]), configurable: true });
  const { createRequire } = await import('node:module');
  const require = createRequire(${JSON.stringify(join(root, 'package.json'))});
  for (const id of ['@tensorflow/tfjs-core', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgpu']) require(id);
  const files = new Set(Object.keys(require.cache));
  const { resolve } = await import('node:path');
  files.add(resolve(${JSON.stringify(join(root, 'node_modules', 'webgpu', 'index.js'))}));
  console.log(JSON.stringify([...files]));`;
const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop());

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const nodeModules = join(root, 'node_modules') + sep;
const copied = new Set();
const copy = (from, to) => {
  if (copied.has(to)) return;
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  copied.add(to);
};
for (const file of loaded) {
  const real = realpathSync(file);
  if (!real.startsWith(nodeModules)) continue;
  copy(real, join(out, 'node_modules', relative(nodeModules, real)));
  // Each package's package.json: Node reads "main" and "type" from it.
  let dir = dirname(real);
  while (dir.startsWith(nodeModules) && !existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  if (existsSync(join(dir, 'package.json'))) copy(join(dir, 'package.json'), join(out, 'node_modules', relative(nodeModules, dir), 'package.json'));
}
// Dawn's ESM entry was loaded through import(), which require.cache does not list: its folder's
// platform build was (dawn.node), so only its JS and package.json are added above.

mkdirSync(join(out, 'dist'));
copy(bundle, join(out, 'dist', 'gpu-bench.js'));
if (existsSync(`${bundle}.map`)) copy(`${bundle}.map`, join(out, 'dist', 'gpu-bench.js.map'));
copy(join(root, 'bench', 'pytorch_rpg.py'), join(out, 'pytorch_rpg.py'));
copy(join(root, 'bench', 'gpu.sh'), join(out, 'gpu.sh'));
chmodSync(join(out, 'gpu.sh'), 0o755);
// The bundle finds node_modules from its own folder upwards; package.json marks it CommonJS.
writeFileSync(join(out, 'package.json'), JSON.stringify({ name: 'rpg-gpu-bench', private: true, type: 'commonjs' }, null, 2) + '\n');
copy(process.execPath, join(out, 'node'));
chmodSync(join(out, 'node'), 0o755);

// The Vulkan loader of this machine, used there only when the GPU machine has none.
for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu']) {
  const lib = join(dir, 'libvulkan.so.1');
  if (existsSync(lib)) {
    copy(realpathSync(lib), join(out, 'lib', 'libvulkan.so.1'));
    break;
  }
}
const bytes = Number(execFileSync('du', ['-sb', out], { encoding: 'utf8' }).split('\t')[0]);
process.stdout.write(`gpu-pack: ${out}: node ${process.version}, ${copied.size} files, ${(bytes / 2 ** 20).toFixed(0)} MiB\n`);
