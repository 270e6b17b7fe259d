// Every byte of a checkpoint and of a .rpgz is covered: flipping any single header byte, or
// random payload bytes, is always reported as corrupted — never parsed into a config error, an
// internal error or a model that evaluates to a silently wrong number. A checkpoint that is
// intact but was written for another plan is refused as such.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { validateConfig } from '../../src/core/config/load';
import { checkCheckpointPlan, CheckpointMeta, decodeCheckpoint, encodeCheckpoint, readCheckpoint } from '../../src/core/checkpoint/file';
import { decodeRpgz, encodeRpgz } from '../../src/core/compress/rpgz';
import { magnitudeMask, quantize } from '../../src/core/compress/quantize';
import { describeFailure } from '../../src/core/errors';
import { resolveExperiment } from '../../src/core/experiment/resolve';
import { materializePlan } from '../../src/core/rpg/materialize';
import { Rng } from '../../src/core/rpg/prng';

const config = validateConfig({ name: 'integrity', seed: 1, model: { arch: 'mlp', hidden: [16] }, rpg: { dof: 300 }, data: { dataset: 'mnist-embedded' } });
const resolved = resolveExperiment(config, { height: 28, width: 28, channels: 1, numClasses: 10 });
const materialized = materializePlan(resolved.plan!);
const rng = new Rng(5, 'integrity');
const values = (n: number) => Float32Array.from({ length: n }, () => rng.nextNormal());
const tensors = new Map([
  ['ring', { shape: [300], values: values(300) }],
  ['fc1.bias', { shape: [16], values: values(16) }],
  ['fc2.bias', { shape: [10], values: values(10) }],
  ['ring/m', { shape: [300], values: values(300) }],
]);
const meta: CheckpointMeta = {
  formatVersion: 2, engine: 'tfjs', step: 7, epoch: 0, batchInEpoch: 7, seed: 1, planHash: resolved.plan!.hash, planContentHash: materialized.contentHash, ringSize: 300,
  backend: 'cpu', optimizerStep: 7, bestAcc: 0.5, lastAcc: 0.5, elapsedSec: 1, config, savedAt: '2026-12-06T00:00:00.000Z',
};

/** What decoding damaged bytes gives: 'corrupted' (good), or whatever else happened (bad). */
function outcome(decode: () => unknown): string {
  try {
    decode();
    return 'decoded';
  } catch (err) {
    const f = describeFailure(err);
    return /is corrupted/.test(f.message) ? 'corrupted' : `${f.code}: ${f.message}`;
  }
}

test('a checkpoint: every single header byte flipped, and random payload bytes, are reported as corrupted', () => {
  const bytes = encodeCheckpoint(meta, tensors);
  assert.equal(decodeCheckpoint(bytes, 'ok.bin').meta.step, 7);
  const headerEnd = 12 + bytes.readUInt32LE(8);
  const flips = Array.from({ length: headerEnd }, (_, i) => i);
  const pick = new Rng(9, 'flips');
  for (let k = 0; k < 300; k++) flips.push(headerEnd + pick.nextInt(bytes.length - headerEnd));
  for (const at of flips) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const damaged = Buffer.from(bytes);
      damaged[at]! ^= mask;
      const got = outcome(() => decodeCheckpoint(damaged, 'x.bin'));
      // The first 8 bytes are the magic: a damaged magic may read as "not a checkpoint".
      if (at < 8 && /not an RPG Studio checkpoint/.test(got)) continue;
      assert.equal(got, 'corrupted', `byte ${at} ^ 0x${mask.toString(16)}`);
    }
  }
  // Truncated anywhere, or with bytes appended: corrupted.
  for (const cut of [1, 10, 33, headerEnd, bytes.length - 1]) assert.equal(outcome(() => decodeCheckpoint(bytes.subarray(0, bytes.length - cut), 'x.bin')), 'corrupted', `cut ${cut}`);
  assert.equal(outcome(() => decodeCheckpoint(Buffer.concat([bytes, Buffer.from([0])]), 'x.bin')), 'corrupted');
});

test('the report case: "seed":1 → "seed":3 inside the header is corrupted, not a model evaluated on another plan', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rpg-integrity-'));
  try {
    const bytes = encodeCheckpoint(meta, tensors);
    const text = bytes.toString('latin1');
    const at = text.indexOf('"seed":1');
    assert.ok(at > 0);
    const damaged = Buffer.from(bytes);
    damaged.write('"seed":3', at, 'latin1');
    writeFileSync(path.join(dir, 'checkpoint.bin'), damaged);
    assert.throws(() => readCheckpoint(dir), /checkpoint .*checkpoint\.bin is corrupted \(its SHA-256 does not match/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an intact checkpoint written for another plan is refused as such, naming both plans', () => {
  const other = resolveExperiment({ ...config, seed: 3 }, { height: 28, width: 28, channels: 1, numClasses: 10 });
  const otherPlan = { hash: other.plan!.hash, contentHash: materializePlan(other.plan!).contentHash, ringSize: 300 };
  assert.throws(() => checkCheckpointPlan('c.bin', meta, otherPlan), new RegExp(`checkpoint c\\.bin was written for a different plan \\(plan ${meta.planHash}; the config and seed now give plan ${otherPlan.hash}\\)`));
  assert.throws(() => checkCheckpointPlan('c.bin', meta, undefined), /was written for a different plan .*the plain model/);
  checkCheckpointPlan('c.bin', meta, { hash: resolved.plan!.hash, contentHash: materialized.contentHash, ringSize: 300 });
});

test('a .rpgz: every single header byte flipped, and random payload bytes, are reported as corrupted', () => {
  const ring = tensors.get('ring')!.values;
  const mask = magnitudeMask(ring, 0.5);
  const q = quantize(ring, mask, 4, 64);
  const { bytes } = encodeRpgz({
    config, seed: 1, planHash: resolved.plan!.hash, planContentHash: materialized.contentHash, ringSize: 300, bits: 4, block: q.block, mask, scales: q.scales, codes: q.codes, freeBits: 32,
    tensors: [{ name: 'fc1.bias', shape: [16], values: tensors.get('fc1.bias')!.values }],
  });
  const buf = Buffer.from(bytes);
  assert.equal(decodeRpgz(buf, 'ok.rpgz').ringSize, 300);
  const headerEnd = 12 + buf.readUInt32LE(8);
  const flips = Array.from({ length: headerEnd }, (_, i) => i);
  const pick = new Rng(11, 'flips');
  for (let k = 0; k < 300; k++) flips.push(headerEnd + pick.nextInt(buf.length - headerEnd));
  for (const at of flips) {
    for (const m of [0x01, 0x80, 0xff]) {
      const damaged = Buffer.from(buf);
      damaged[at]! ^= m;
      const got = outcome(() => decodeRpgz(damaged, 'x.rpgz'));
      if (at < 4 && /not an RPG Studio compressed model/.test(got)) continue;
      assert.equal(got, 'corrupted', `byte ${at} ^ 0x${m.toString(16)}`);
    }
  }
});
