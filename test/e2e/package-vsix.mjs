#!/usr/bin/env node
// Kept for the e2e docs' muscle memory: packaging is scripts/package-vsix.mjs (a staged .vsix
// with the bundles and no node_modules). Arguments pass through:
//   node test/e2e/package-vsix.mjs [--target universal|linux-x64] [-o FILE] [--verify]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), '../../scripts/package-vsix.mjs');
const r = spawnSync(process.execPath, [script, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
