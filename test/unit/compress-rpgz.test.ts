import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { validateConfig } from '../../src/core/config/load';
import { resolveExperiment } from '../../src/core/experiment/resolve';
import { generateWeights, initialRing, materializePlan } from '../../src/core/rpg/materialize';
import { Network } from '../../src/engines/tfjs/network';
import { dequantize, magnitudeMask, quantize } from '../../src/core/compress/quantize';
import { artifactRing, crc32, decodeRpgz, encodeRpgz, RpgzArtifact } from '../../src/core/compress/rpgz';
import { fullWeights } from '../../src/export/weights';
import { useBackend } from '../helpers/tf';

const config = validateConfig({ name: 'z', seed: 3, model: { arch: 'lenet5' }, rpg: { dof: 1000 }, data: { dataset: 'mnist-embedded' } });
const resolved = resolveExperiment(config, { height: 28, width: 28, channels: 1, numClasses: 10 });
const m = materializePlan(resolved.plan!);

function artifact(prune: number, bits: number, block: number, freeBits: 16 | 32): RpgzArtifact {
  const ring = initialRing(m.plan);
  const mask = magnitudeMask(ring, prune);
  const q = quantize(ring, mask, bits, block);
  const tensors = resolved.plan!.free.map((p, i) => ({ name: p.name, shape: p.shape, values: Float32Array.from({ length: p.size }, (_, k) => Math.sin(i + k) * 0.1) }));
  return { config, seed: config.seed, planHash: m.plan.hash, planContentHash: m.contentHash, ringSize: ring.length, bits, block: q.block, mask, scales: q.scales, codes: q.codes, freeBits, tensors, info: { note: 'test' } };
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('.rpgz round trip: mask, codes, scales and the dequantized ring are bit-identical; float32 free params exact', () => {
  for (const [prune, bits, block] of [[0, 8, 1000], [0.5, 4, 256], [0.9, 8, 64], [0.02, 2, 1000]] as const) {
    const a = artifact(prune, bits, block, 32);
    const { bytes, sizes } = encodeRpgz(a);
    assert.equal(sizes.total, bytes.length);
    const d = decodeRpgz(bytes);
    assert.deepEqual(d.mask, a.mask);
    assert.deepEqual(d.codes, a.codes);
    assert.deepEqual(Buffer.from(d.scales.buffer), Buffer.from(a.scales.buffer));
    assert.deepEqual(Buffer.from(artifactRing(d).buffer), Buffer.from(dequantize(a).buffer));
    assert.equal(d.planHash, a.planHash);
    assert.deepEqual(d.config, config);
    for (let i = 0; i < a.tensors.length; i++) assert.deepEqual(Buffer.from(d.tensors[i]!.values.buffer), Buffer.from(a.tensors[i]!.values.buffer));
    assert.equal(sizes.codes, Math.ceil((bits * a.mask.reduce((s, v) => s + v, 0)) / 8));
  }
});

test('float16 free parameters: half the bytes, within half precision', () => {
  const a = artifact(0.5, 8, 1000, 16);
  const { sizes, bytes } = encodeRpgz(a);
  assert.equal(sizes.free, a.tensors.reduce((s, t) => s + t.values.length, 0) * 2);
  const d = decodeRpgz(bytes);
  for (let i = 0; i < a.tensors.length; i++) {
    const x = a.tensors[i]!.values;
    const y = d.tensors[i]!.values;
    for (let k = 0; k < x.length; k++) assert.ok(Math.abs(x[k]! - y[k]!) <= Math.abs(x[k]!) * 2 ** -11 + 1e-7);
  }
});

test('weights regenerated from a decoded .rpgz equal generateWeights bit for bit (reference and tfjs generator)', async () => {
  await useBackend('cpu');
  const a = artifact(0.5, 4, 128, 32);
  const d = decodeRpgz(encodeRpgz(a).bytes);
  const ring = artifactRing(d);
  const reference = generateWeights(m, dequantize(a));
  assert.deepEqual(Buffer.from(generateWeights(m, ring).buffer), Buffer.from(reference.buffer));
  const net = new Network(resolved.spec, m, config.seed);
  net.ring!.assign(tf.tensor1d(ring));
  const generated = net.generatedWeights();
  for (const l of m.plan.layers) {
    const ours = generated.get(l.param.name)!.dataSync() as Float32Array;
    assert.deepEqual(Buffer.from(ours.buffer.slice(ours.byteOffset, ours.byteOffset + ours.byteLength)), Buffer.from(reference.slice(l.offset, l.offset + l.size).buffer), l.param.name);
  }
  const full = await fullWeights(net);
  assert.deepEqual(Buffer.from(full.params.get('conv1.kernel')!.buffer), Buffer.from(reference.slice(0, 150).buffer));
  tf.dispose([...generated.values()]);
  net.dispose();
});

test('a flipped byte is a checksum error; a truncated file is a clear error; not an .rpgz is said so', () => {
  const { bytes } = encodeRpgz(artifact(0.5, 8, 1000, 32));
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 20]! ^= 0x10;
  assert.throws(() => decodeRpgz(flipped, 'x.rpgz'), /x\.rpgz: is corrupted \(checksum mismatch/);
  for (const cut of [bytes.length - 1, bytes.length - 100, 40, 10]) assert.throws(() => decodeRpgz(bytes.subarray(0, cut), 'x.rpgz'), /x\.rpgz: (is corrupted|not an RPG)/, `cut at ${cut}`);
  assert.throws(() => decodeRpgz(Buffer.from('RPGCKPT1 something else entirely'), 'c.bin'), /bad magic/);
  const extra = Buffer.concat([bytes, Buffer.from([0])]);
  assert.throws(() => decodeRpgz(extra, 'x.rpgz'), /x\.rpgz: is corrupted/);
});
