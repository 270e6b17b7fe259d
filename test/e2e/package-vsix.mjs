#!/usr/bin/env node
// Packages the repo as a .vsix the way a user gets it (production dependencies included, so
// tfjs is there at run time) for e2e mode B:  node test/e2e/package-vsix.mjs [-o FILE]
//
// vsce packs every file not excluded by .vscodeignore, and it does not read .gitignore: without
// help it would pack test/e2e/node_modules (code-server, hundreds of MB), out/ and .e2e-out/.
// So vsce gets a combined ignore file: the root .vscodeignore (the product's rules) when there
// is one, else a conservative fallback, followed by the e2e folders, which never belong in it.
// README links stay relative (--no-rewrite-relative-links): the repository URL is no GitHub one,
// and this .vsix is only installed offline by the tests.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({ options: { out: { type: 'string', short: 'o', default: 'rpg-studio.vsix' } } });
const outFile = resolve(process.cwd(), values.out);

const FALLBACK = `# fallback used by test/e2e/package-vsix.mjs while the repo has no .vscodeignore
.ci/**
.cache/**
.github/**
.gitignore
bench/**
runs/**
scripts/**
src/**
test/**
webview-ui/**
esbuild.mjs
tsconfig.json
**/*.tsbuildinfo
`;
const E2E = `# always excluded by test/e2e/package-vsix.mjs
test/**
out/**
.e2e-out/**
.cache/**
runs/**
*.vsix
`;

const rootIgnore = join(repo, '.vscodeignore');
const base = existsSync(rootIgnore) ? readFileSync(rootIgnore, 'utf8') : FALLBACK;
const tmp = mkdtempSync(join(tmpdir(), 'rpg-vsix-'));
const ignoreFile = join(tmp, 'vscodeignore');
writeFileSync(ignoreFile, `${base}\n${E2E}`);
console.log(`[package-vsix] ignore rules: ${existsSync(rootIgnore) ? '.vscodeignore' : 'fallback'} + e2e folders`);

const vsce = join(repo, 'node_modules/@vscode/vsce/vsce');
const r = spawnSync(process.execPath, [vsce, 'package', '--ignoreFile', ignoreFile, '--no-rewrite-relative-links', '-o', outFile], {
  cwd: repo,
  stdio: ['ignore', 'inherit', 'inherit'],
  timeout: 15 * 60_000,
});
rmSync(tmp, { recursive: true, force: true });
if (r.status !== 0) {
  console.error(`[package-vsix] vsce package failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
  process.exit(1);
}
console.log(`[package-vsix] ${outFile}: ${(statSync(outFile).size / 2 ** 20).toFixed(1)} MiB`);
