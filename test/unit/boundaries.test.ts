// The boundary check (npm run check:boundaries, .dependency-cruiser.cjs) can fail: planted
// violations in a scratch tree laid out like src/ — the core importing tfjs, the extension
// reaching tfjs through a core module, a cycle, the protocol importing the trainer — are each
// reported by the real tool with the project's own rules, and the clean tree passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '../..');
const DEPCRUISE = path.join(REPO, 'node_modules', '.bin', 'depcruise');

function cruise(files: Record<string, string>): { status: number | null; out: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-boundaries-'));
  try {
    copyFileSync(path.join(REPO, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', strict: true } }));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    const r = spawnSync(DEPCRUISE, ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: dir, encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const clean = {
  'src/core/plan.ts': 'export const plan = 1;\n',
  'src/core/uses-plan.ts': "import { plan } from './plan';\nexport const twice = plan * 2;\n",
  'src/extension/main.ts': "import { twice } from '../core/uses-plan';\nexport const x = twice;\n",
  'src/protocol/index.ts': "import { plan } from '../core/plan';\nexport const p = plan;\n",
};

test('the boundary rules pass a clean tree', () => {
  const r = cruise(clean);
  assert.equal(r.status, 0, r.out);
});

test('the boundary rules fail on each planted violation, naming the rule', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['core imports tfjs', { 'src/core/plan.ts': "import * as tf from '@tensorflow/tfjs-core';\nexport const plan = tf;\n" }, /core-is-pure/],
    ['core imports the protocol', { 'src/core/plan.ts': "import { p } from '../protocol/index';\nexport const plan = p;\n" }, /core-is-pure|no-circular/],
    ['the extension reaches tfjs through the core', { 'src/core/uses-plan.ts': "import * as tf from '@tensorflow/tfjs-core';\nexport const twice = tf;\n" }, /editor-never-reaches-tfjs/],
    ['the server imports an engine', { 'src/server/main.ts': "import { e } from '../engines/tfjs/engine';\nexport const s = e;\n", 'src/engines/tfjs/engine.ts': 'export const e = 1;\n' }, /editor-never-reaches-tfjs/],
    ['an import cycle', { 'src/core/plan.ts': "import { twice } from './uses-plan';\nexport const plan = 1;\nexport const t = () => twice;\n" }, /no-circular/],
    ['the protocol imports the trainer', { 'src/protocol/index.ts': "import { q } from '../trainer/queue';\nexport const p = q;\n", 'src/trainer/queue.ts': 'export const q = 1;\n' }, /protocol-depends-on-core-only/],
    ['the trainer imports vscode', { 'src/trainer/main.ts': "import * as vscode from 'vscode';\nexport const v = vscode;\n" }, /trainer-never-imports-vscode/],
  ];
  for (const [what, planted, rule] of cases) {
    const r = cruise({ ...clean, ...planted });
    assert.notEqual(r.status, 0, `${what}: the check should fail\n${r.out}`);
    assert.match(r.out, rule, what);
  }
});
