// @vscode/ripgrep@1.15.11 (pulled in by code-server's nested `npm install` in lib/vscode)
// downloads rg from GitHub in its postinstall, which is unreachable here. It first looks in
// $TMPDIR/vscode-ripgrep-cache-<version>/ for the release archive, so put one there, built
// from the rg binary that the npm package @vscode/ripgrep-linux-x64 ships.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const RIPGREP_PACKAGE_VERSION = '1.15.11';
const ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(`[ripgrep-cache] ${process.platform}/${process.arch}: nothing to seed`);
  process.exit(0);
}

const rg = path.join(path.dirname(require.resolve('@vscode/ripgrep-linux-x64/package.json')), 'bin', 'rg');
if (!fs.existsSync(rg)) {
  console.error(`[ripgrep-cache] no rg binary at ${rg}`);
  process.exit(1);
}
fs.chmodSync(rg, 0o755);

const cacheDir = path.join(os.tmpdir(), `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
const archive = path.join(cacheDir, ASSET);
fs.mkdirSync(cacheDir, { recursive: true });
// Build into a temp name, then rename: a half-written archive must never be picked up.
const partial = `${archive}.${process.pid}.partial`;
execFileSync('tar', ['czf', partial, '-C', path.dirname(rg), 'rg']);
fs.renameSync(partial, archive);
console.log(`[ripgrep-cache] seeded ${archive}`);
