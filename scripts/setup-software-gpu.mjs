// Installs a software Vulkan adapter new enough for Dawn (the `webgpu` package), so the webgpu
// backend can be tested on a machine without a GPU: Mesa ≥ 25's lavapipe, unpacked into
// .cache/software-gpu/ of this checkout (nothing of Mesa is installed system-wide), plus the
// Vulkan loader (libvulkan1) from the system's own packages. Debian/Ubuntu (apt) only.
//
// Debian 12's own lavapipe (Mesa 22.3) is too old: Dawn rejects it ("shaderUniform*Array-
// DynamicIndexing required"). Mesa 25 is in bookworm-backports (Debian 13 and Ubuntu 25.04 ship
// it in their main suite): it is fetched with a private apt sources list that reuses the mirror
// this machine's apt already uses, never a host named here.
//
// The last line printed is `export VK_DRIVER_FILES=<path of the ICD json>`; run it (or
// `eval "$(npm run -s setup:software-gpu | tail -1)"`) before `rpg train --backend webgpu`.
// A second run finds everything in place and only prints that line again.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dest = join(root, '.cache', 'software-gpu');
const icdFile = join(dest, 'lvp_icd.json');
const stampFile = join(dest, 'mesa-version');
const MIN_MESA = 25;
const say = (m) => process.stderr.write(`setup:software-gpu: ${m}\n`);

class SetupError extends Error {}
const fail = (m) => {
  throw new SetupError(m);
};

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.error) return { ok: false, out: '', err: r.error.message };
  return { ok: r.status === 0, out: r.stdout ?? '', err: r.stderr ?? '' };
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** apt-get as root, or through a password-less sudo; otherwise the command the user should run. */
function aptAsRoot(args, why) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (isRoot) return run('apt-get', args, { env });
  if (run('sudo', ['-n', 'true']).ok) return run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args]);
  return fail(`${why}: run \`sudo apt-get ${args.filter((a) => a !== '-qq').join(' ')}\` and then this script again`);
}

// ---- the Vulkan loader -------------------------------------------------------------------------

/** Whether the dynamic linker can find the soname (ld.so.cache, LD_LIBRARY_PATH, usual dirs). */
function sharedLibraryFound(soname) {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), '/lib', '/usr/lib', '/lib64', '/usr/lib64', '/usr/local/lib'];
  const multiarch = run('gcc', ['-print-multiarch']).out.trim() || `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  dirs.push(`/lib/${multiarch}`, `/usr/lib/${multiarch}`);
  if (dirs.some((d) => existsSync(join(d, soname)))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes(soname);
  } catch {
    return false;
  }
}

function ensureVulkanLoader() {
  if (sharedLibraryFound('libvulkan.so.1')) return;
  say('installing the Vulkan loader (libvulkan1)');
  let r = aptAsRoot(['install', '-y', '-qq', '--no-install-recommends', 'libvulkan1'], 'the Vulkan loader libvulkan.so.1 is missing');
  if (!r.ok) {
    aptAsRoot(['update', '-qq'], 'apt-get update is needed');
    r = aptAsRoot(['install', '-y', '-qq', '--no-install-recommends', 'libvulkan1'], 'the Vulkan loader libvulkan.so.1 is missing');
  }
  if (!r.ok || !sharedLibraryFound('libvulkan.so.1')) fail(`could not install libvulkan1: ${lastLine(r.err)}`);
}

// ---- the machine's own apt mirror --------------------------------------------------------------

function osRelease() {
  const out = {};
  for (const line of readFileSync('/etc/os-release', 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^"|"$/g, '');
  }
  return out;
}

/** Every apt source of this machine as { uris, suites, components, signedBy }. */
function aptSources() {
  const entries = [];
  const dir = '/etc/apt/sources.list.d';
  const files = existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
  for (const file of ['/etc/apt/sources.list', ...files]) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      // deb822: stanzas separated by blank lines, "Field: value" lines, '#' comments.
      for (const stanza of text.split(/\n\s*\n/)) {
        const f = {};
        for (const line of stanza.split('\n')) {
          const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
          if (m) f[m[1].toLowerCase()] = m[2].trim();
        }
        if (!f.uris || !f.suites || (f.enabled ?? 'yes') === 'no' || !(f.types ?? 'deb').split(/\s+/).includes('deb')) continue;
        entries.push({ uris: f.uris.split(/\s+/), suites: f.suites.split(/\s+/), components: (f.components ?? '').split(/\s+/), signedBy: f['signed-by'] });
      }
    } else if (file.endsWith('.list')) {
      for (const raw of text.split('\n')) {
        const line = raw.replace(/#.*/, '').trim();
        const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
        if (!m) continue;
        const signedBy = /signed-by=(\S+)/.exec(m[1] ?? '')?.[1];
        entries.push({ uris: [m[2]], suites: [m[3]], components: m[4].split(/\s+/), signedBy });
      }
    }
  }
  return entries;
}

/** The mirror serving the distribution's own suite (main component), as apt is configured. */
function ownMirror(codename) {
  const entry = aptSources().find((e) => e.suites.includes(codename) && e.components.includes('main'));
  if (!entry) fail(`no apt source for suite "${codename}" (component main) in /etc/apt/sources.list or /etc/apt/sources.list.d/`);
  return entry;
}

/** apt-get with a private state (lists, cache, sources): the system's apt is left untouched. */
function privateApt(workDir, entry, suites) {
  const lists = join(workDir, 'lists');
  const cache = join(workDir, 'cache');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  mkdirSync(join(cache, 'archives', 'partial'), { recursive: true });
  const sourcesList = join(workDir, 'sources.list');
  const opts = entry.signedBy && !entry.signedBy.includes('\n') ? `[signed-by=${entry.signedBy}] ` : '';
  writeFileSync(sourcesList, suites.map((s) => `deb ${opts}${entry.uris[0]} ${s} main\n`).join(''));
  const base = [
    '-o', `Dir::Etc::sourcelist=${sourcesList}`, '-o', 'Dir::Etc::sourceparts=-', '-o', `Dir::State::Lists=${lists}`,
    '-o', `Dir::Cache=${cache}`, '-o', 'APT::Get::List-Cleanup=0', '-o', 'Debug::NoLocking=1',
    // Downloads land in our folder, which the _apt sandbox user may not be able to write.
    ...(isRoot ? ['-o', 'APT::Sandbox::User=root'] : []),
  ];
  return {
    get: (args, cwd) => run('apt-get', [...base, ...args], { cwd }),
    cache: (args) => run('apt-cache', [...base, ...args]),
  };
}

function versionMajor(v) {
  return Number(/^(?:\d+:)?(\d+)/.exec(v)?.[1] ?? 0);
}

// ---- lavapipe ----------------------------------------------------------------------------------

function fetchLavapipe() {
  const os = osRelease();
  const codename = os.VERSION_CODENAME || os.UBUNTU_CODENAME;
  if (!codename) fail('/etc/os-release names no VERSION_CODENAME; this script knows Debian and Ubuntu (apt) only');
  const mirror = ownMirror(codename);
  const work = join(root, '.cache', 'software-gpu.partial');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // The distribution's suite and its backports: the newest Mesa of the two is taken.
  let apt = privateApt(work, mirror, [codename, `${codename}-backports`]);
  say(`reading package lists of ${mirror.uris[0]} (${codename}, ${codename}-backports)`);
  let r = apt.get(['update', '-qq']);
  if (!r.ok) {
    // A distribution without a backports suite: its own suite alone.
    apt = privateApt(work, mirror, [codename]);
    r = apt.get(['update', '-qq']);
    if (!r.ok) fail(`apt-get update against ${mirror.uris[0]} failed: ${lastLine(r.err)}`);
  }
  const versions = apt.cache(['madison', 'mesa-vulkan-drivers']).out
    .split('\n')
    .map((l) => l.split('|').map((s) => s.trim()))
    .filter((c) => c.length >= 3 && c[0] === 'mesa-vulkan-drivers')
    .map((c) => c[1]);
  const best = versions.filter((v) => versionMajor(v) >= MIN_MESA).sort((a, b) => (run('dpkg', ['--compare-versions', a, 'gt', b]).ok ? -1 : 1))[0];
  if (!best) fail(`no mesa-vulkan-drivers ≥ ${MIN_MESA} in ${codename} or ${codename}-backports (found ${versions.join(', ') || 'none'}); Dawn needs Mesa ≥ ${MIN_MESA}'s lavapipe`);
  say(`downloading mesa-vulkan-drivers ${best}`);
  r = apt.get(['download', '-qq', `mesa-vulkan-drivers=${best}`], work);
  if (!r.ok) fail(`downloading mesa-vulkan-drivers ${best} failed: ${lastLine(r.err)}`);
  const deb = readdirSync(work).find((f) => f.startsWith('mesa-vulkan-drivers_') && f.endsWith('.deb'));
  if (!deb) fail('apt-get download produced no mesa-vulkan-drivers .deb');
  const tree = join(work, 'tree');
  r = run('dpkg', ['-x', join(work, deb), tree]);
  if (!r.ok) fail(`dpkg -x ${deb} failed: ${lastLine(r.err)}`);
  ensureRuntimeDependencies(join(work, deb));

  const lib = findFile(tree, 'libvulkan_lvp.so');
  const icdSource = findFile(tree, 'lvp_icd.json') ?? findFile(tree, /^lvp_icd\..*\.json$/);
  if (!lib || !icdSource) fail(`${deb} holds no lavapipe (libvulkan_lvp.so / lvp_icd.json)`);
  // Keep only lavapipe: the other Vulkan drivers of the package (radeon, intel, ...) are ~40 MB.
  const out = join(work, 'out');
  mkdirSync(out);
  copyFileSync(lib, join(out, 'libvulkan_lvp.so'));
  const icd = JSON.parse(readFileSync(icdSource, 'utf8'));
  icd.ICD.library_path = join(dest, 'libvulkan_lvp.so'); // absolute: the loader resolves it as is
  writeFileSync(join(out, 'lvp_icd.json'), JSON.stringify(icd, null, 2) + '\n');
  writeFileSync(join(out, 'mesa-version'), `${best}\n`);
  checkLinkage(join(out, 'libvulkan_lvp.so'));
  rmSync(dest, { recursive: true, force: true });
  renameSync(out, dest); // a half-unpacked driver is never left where VK_DRIVER_FILES points
  rmSync(work, { recursive: true, force: true });
  return best;
}

/** Installs (from the system's own suites) the shared libraries lavapipe links that are missing. */
function ensureRuntimeDependencies(debFile) {
  const depends = run('dpkg-deb', ['-f', debFile, 'Depends']).out;
  const names = depends.split(',').map((d) => d.split('|')[0].trim().split(/[\s(]/)[0]).filter(Boolean);
  const missing = names.filter((n) => !/install ok installed/.test(run('dpkg-query', ['-W', '-f', '${Status}', n]).out));
  if (!missing.length) return;
  say(`installing lavapipe's runtime libraries from the system's suites: ${missing.join(' ')}`);
  const r = aptAsRoot(['install', '-y', '-qq', '--no-install-recommends', ...missing], `lavapipe needs ${missing.join(', ')}`);
  if (!r.ok) fail(`could not install ${missing.join(', ')}: ${lastLine(r.err)}`);
}

/** Every library lavapipe links resolves (a backported Mesa can need a newer one). */
function checkLinkage(lib) {
  const r = run('ldd', [lib]);
  const notFound = r.out.split('\n').filter((l) => /not found/.test(l)).map((l) => l.trim().split(/\s/)[0]);
  if (notFound.length) fail(`lavapipe needs libraries this machine lacks: ${notFound.join(', ')}`);
}

function findFile(dir, name) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(p, name);
      if (found) return found;
    } else if (typeof name === 'string' ? entry.name === name : name.test(entry.name)) {
      return p;
    }
  }
  return undefined;
}

function lastLine(text) {
  return (text ?? '').trim().split('\n').filter(Boolean).pop() ?? 'no error output';
}

/** Already set up: the driver and its ICD json are where VK_DRIVER_FILES will point. */
function installedVersion() {
  try {
    const icd = JSON.parse(readFileSync(icdFile, 'utf8'));
    if (!statSync(icd.ICD.library_path).isFile()) return undefined;
    return readFileSync(stampFile, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Asks Dawn for an adapter through the new driver (when `npm ci` has installed `webgpu`). */
function probeAdapter() {
  const script = `
    const { create } = await import('webgpu');
    const a = await create([]).requestAdapter();
    console.log(a ? a.info.description + (a.info.isFallbackAdapter ? ' (software adapter)' : '') : 'none');`;
  if (!existsSync(join(root, 'node_modules', 'webgpu'))) return undefined;
  const r = run(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env: { ...process.env, VK_DRIVER_FILES: icdFile } });
  return r.ok ? r.out.trim().split('\n').pop() : `probe failed: ${lastLine(r.err)}`;
}

function main() {
  if (process.platform !== 'linux') fail(`a software Vulkan adapter is only set up on Linux; on ${process.platform === 'darwin' ? 'macOS WebGPU runs on Metal' : process.platform === 'win32' ? 'Windows WebGPU runs on D3D12' : process.platform} with the machine's own GPU`);
  if (!existsSync('/usr/bin/apt-get') && !run('apt-get', ['--version']).ok) fail('apt-get not found: this script knows Debian and Ubuntu; elsewhere install Mesa ≥ 25 (its lavapipe Vulkan driver) and set VK_DRIVER_FILES to its lvp_icd json');
  ensureVulkanLoader();
  let version = installedVersion();
  if (version) say(`lavapipe from mesa-vulkan-drivers ${version} already in ${dest}`);
  else {
    version = fetchLavapipe();
    say(`lavapipe from mesa-vulkan-drivers ${version} unpacked into ${dest}`);
  }
  const adapter = probeAdapter();
  if (adapter === 'none' || adapter?.startsWith('probe failed')) fail(`Dawn found no adapter through ${icdFile}: ${adapter}`);
  if (adapter) say(`Dawn sees: ${adapter}`);
  process.stdout.write(`export VK_DRIVER_FILES=${icdFile}\n`);
}

try {
  main();
} catch (err) {
  if (err instanceof SetupError) {
    process.stderr.write(`setup:software-gpu: error: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
