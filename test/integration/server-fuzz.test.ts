// ≥ 500 generated and mutated documents through the real server process: every answer must be a
// list of well-formed diagnostics, no rule may fail internally, and the server must stay alive.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Diagnostic } from 'vscode-languageserver';
import { Rng } from '../../src/core/rpg/prng';
import { fileUri, ServerHarness } from './server-harness';

let server: ServerHarness;
before(async () => {
  server = await ServerHarness.start();
});
after(async () => {
  await server.stop();
});

const VALID = {
  name: 'fuzz',
  seed: 3,
  model: { arch: 'resnet20', hidden: [64, 32], width: 1, smallInput: false, numClasses: 10, batchNorm: true },
  rpg: { enabled: true, dof: '10%', sampling: 'ring', freeFirst: false, freeLast: true, ringInitStd: 0.02, lrNormalization: 'projected', minReuseWarning: 1000 },
  data: { dataset: 'cifar10', path: 'data', trainSize: 100, testSize: 100, augment: true, imageSize: 32 },
  train: { optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 0.0005, schedule: 'cosine', batchSize: 128, epochs: 10, backend: 'auto' },
};

const WEIRD: unknown[] = [
  0, -1, 1, 2, 7, 1e-300, 1e300, -1e300, 2 ** 53 + 1, 4294967296, 0.5, 1.5, Number.MAX_VALUE,
  'NaN', 'Infinity', '-Infinity', '', ' ', '0%', '100%', '101%', '1e5%', '-5%', '.5%', '10 %', '%', '∞', '\u0000', 'x'.repeat(500),
  true, false, null, [], {}, [[[[]]]], { a: { b: { c: {} } } }, ['mlp'], { arch: 'lenet5' },
  'mlp', 'lenet5', 'resnet18', 'resnet34', 'resnet56', 'image-folder', 'mnist', 'cifar100', 'shuffled', 'adam', 'official',
];

function mutate(rng: Rng, value: unknown, depth = 0): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.nextFloat() * xs.length)]!;
  if (typeof value !== 'object' || value === null || depth > 3) return rng.nextFloat() < 0.5 ? pick(WEIRD) : value;
  if (Array.isArray(value)) return value.map((v) => (rng.nextFloat() < 0.3 ? mutate(rng, v, depth + 1) : v));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = rng.nextFloat();
    if (r < 0.1) continue; // drop the field
    if (r < 0.15) out[`${k}x`] = v; // misspell it
    else out[k] = r < 0.45 ? mutate(rng, v, depth + 1) : v;
  }
  if (rng.nextFloat() < 0.1) out[pick(['extra', '$schema', 'model', 'dof'])] = pick(WEIRD);
  return out;
}

function corruptText(rng: Rng, text: string): string {
  const at = Math.floor(rng.nextFloat() * (text.length + 1));
  switch (Math.floor(rng.nextFloat() * 6)) {
    case 0: return text.slice(0, at); // truncated while typing
    case 1: return text.slice(0, at) + text.slice(at + 1 + Math.floor(rng.nextFloat() * 10));
    case 2: return text.slice(0, at) + String.fromCharCode(Math.floor(rng.nextFloat() * 0xffff)) + text.slice(at);
    case 3: return text.slice(0, at) + pick(rng, ['{', '}', '[', ']', ',', ':', '"', '//', '/*', '\\', '\n']) + text.slice(at);
    case 4: return `// comment\n${text},`;
    default: return text.replace(/"/g, "'");
  }
}
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.nextFloat() * xs.length)]!;

function garbage(rng: Rng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(Math.floor(rng.nextFloat() * 256));
  return s;
}

function inputs(): string[] {
  const rng = new Rng(2024, 'server-fuzz');
  const out: string[] = ['', ' ', '{}', '[]', 'null', '0', '"x"', '{', '}', '{"model":', '\uFEFF{}', '/* */', '//'];
  out.push('['.repeat(100_000), '{"a":'.repeat(20_000), '[1,'.repeat(5_000) + ']'.repeat(5_000));
  out.push(JSON.stringify({ model: { arch: 'mlp', hidden: Array(64).fill(65536) }, rpg: { dof: 1 } }));
  out.push(JSON.stringify({ model: { arch: 'resnet34', width: 16 }, rpg: { dof: '0.0000001%' } }));
  out.push(`{"model":{"arch":"lenet5"},"rpg":{"dof":${'9'.repeat(400)}}}`);
  out.push('{"model":{"arch":"lenet5"},"rpg":{"dof":NaN},"train":{"lr":Infinity}}');
  while (out.length < 560) {
    const r = rng.nextFloat();
    if (r < 0.6) out.push(JSON.stringify(mutate(rng, VALID), null, rng.nextFloat() < 0.5 ? 2 : 0));
    else if (r < 0.9) out.push(corruptText(rng, JSON.stringify(mutate(rng, VALID), null, 2)));
    else out.push(garbage(rng, Math.floor(rng.nextFloat() * 400)));
  }
  return out;
}

function assertWellFormed(diagnostics: Diagnostic[], input: string): void {
  assert.ok(Array.isArray(diagnostics), 'diagnostics is a list');
  for (const d of diagnostics) {
    const where = `for input ${JSON.stringify(input.slice(0, 200))}`;
    assert.equal(typeof d.message, 'string', where);
    assert.match(String(d.code), /^rpg-/, where);
    assert.notEqual(d.code, 'rpg-internal', `${d.message} ${where}`);
    for (const p of [d.range.start, d.range.end]) assert.ok(Number.isInteger(p.line) && Number.isInteger(p.character) && p.line >= 0 && p.character >= 0, where);
  }
}

test('560 generated/mutated documents: every answer is a list of diagnostics, the server stays alive', async () => {
  const all = inputs();
  assert.ok(all.length >= 500);
  // A file URI in a folder that does not exist: data.path is resolved and described for real.
  const uri = fileUri(path.join(tmpdir(), 'rpg-fuzz-nowhere', 'fuzz.rpg.json'));
  assertWellFormed(await server.open(uri, all[0]!), all[0]!);
  for (const text of all.slice(1)) assertWellFormed(await server.change(uri, text), text);
  // Hover and completion on a mangled document still answer.
  const last = all[all.length - 1]!;
  await server.hover(uri, { line: 0, character: Math.min(3, last.length) });
  await server.completion(uri, { line: 0, character: 0 });
  assert.ok(server.alive);
});

test('a 100 MB document is skipped with one information diagnostic', { timeout: 90_000 }, async () => {
  const uri = 'untitled:huge.rpg.json';
  const huge = `{"model":{"arch":"lenet5"},"description":"${'x'.repeat(100 * 1024 * 1024)}"}`;
  // Generous timeout: 100 MB of JSON-RPC on a busy 2-core machine takes seconds to transfer.
  const diagnostics = await server.open(uri, huge, 60_000);
  assert.deepEqual(diagnostics.map((d) => [d.code, d.severity]), [['rpg-too-large', 3]]);
  assert.equal((await server.completion(uri, { line: 0, character: 1 })).length, 0);
  await server.close(uri);
  assert.ok(server.alive);
});
