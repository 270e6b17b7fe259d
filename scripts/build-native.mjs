// Builds the optional oneDNN convolution addon (native/rpg_onednn.cc → build/native/rpg_onednn.node).
// Runs after `npm install` / `npm ci`. Never fails the install: without a C++ compiler, Node's
// headers or libdnnl-dev (Debian/Ubuntu: `apt-get install libdnnl-dev`), it says what is missing
// and training uses tfjs-wasm's own convolutions. RPG_NO_NATIVE=1 skips it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'rpg_onednn.cc');
const target = join(root, 'build', 'native', 'rpg_onednn.node');
const say = (m) => process.stdout.write(`rpg native: ${m}\n`);

function main() {
  // A stale addon (built from older source, or for a since-removed library) is never left behind.
  rmSync(target, { force: true });
  if (process.env.RPG_NO_NATIVE) return say('skipped (RPG_NO_NATIVE is set)');
  if (process.platform !== 'linux' && process.platform !== 'darwin') return say(`skipped on ${process.platform}; convolutions run on tfjs-wasm`);
  const nodeInclude = join(dirname(process.execPath), '..', 'include', 'node');
  if (!existsSync(join(nodeInclude, 'node_api.h'))) return say(`skipped: no Node headers at ${nodeInclude}; convolutions run on tfjs-wasm`);
  const cxx = process.env.CXX || 'g++';
  if (spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status !== 0) return say(`skipped: no C++ compiler (${cxx}); convolutions run on tfjs-wasm`);
  const probe = spawnSync(cxx, ['-E', '-x', 'c++', '-'], { input: '#include <dnnl.hpp>\n', stdio: ['pipe', 'ignore', 'ignore'] });
  if (probe.status !== 0) return say('skipped: oneDNN headers not found (Debian/Ubuntu: apt-get install libdnnl-dev); convolutions run on tfjs-wasm');
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  const flags = ['-O3', '-std=c++17', '-shared', '-fPIC', '-Wall', `-I${nodeInclude}`, source, '-ldnnl', '-o', partial];
  if (process.platform === 'darwin') flags.push('-undefined', 'dynamic_lookup');
  // The addon sets its thread count through libgomp, the OpenMP runtime Linux builds of libdnnl use.
  else flags.push('-fopenmp');
  // A platform .vsix puts libdnnl (and the libraries it needs that a bare system lacks) next to
  // the addon: $ORIGIN finds them there first. An old-style RPATH (not RUNPATH) because it also
  // serves libdnnl's own dependencies (libgomp, libOpenCL), which have no search path of their own.
  // A checkout has no libraries beside it and falls through to the system's.
  if (process.platform === 'linux') flags.push('-Wl,-rpath,$ORIGIN', '-Wl,--disable-new-dtags');
  const r = spawnSync(cxx, flags, { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(partial, { force: true });
    return say(`build failed; convolutions run on tfjs-wasm:\n${(r.stderr || r.error?.message || '').trim().split('\n').slice(0, 20).join('\n')}`);
  }
  renameSync(partial, target); // a half-written addon is never loaded
  say(`built ${target.slice(root.length + 1)} (oneDNN convolutions for the wasm backend)`);
}

try {
  main();
} catch (err) {
  say(`not built (${err?.message ?? err}); convolutions run on tfjs-wasm`);
}
