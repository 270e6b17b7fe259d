// The New Experiment wizard checks as the user answers (issue 18, item 5): the ring a DoF gives
// for this model or why it cannot be, training lengths with a time estimate, and a template
// that names the dataset folder it was given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'jsonc-parser';
import { dofFeedback, epochChoices, fillTemplate } from '../../src/extension/wizard-facts';
import { validateConfig } from '../../src/core/config/load';

test('DoF answers: the ring size for this model as it is typed; over 100% or over the model is refused', () => {
  const ok = dofFeedback('lenet5', 'mnist-embedded', '10%');
  assert.deepEqual(ok, { ok: true, ringSize: 4419, message: 'Ring of 4,419 entries = 10.00% of the 44,190 generated weights (44,426 parameters in all), each entry reused ×10.' });
  assert.equal(dofFeedback('lenet5', 'mnist-embedded', '150%').message, '150% is more than all 44,190 generated weights: at most 100% (the plain model up to permutation and signs).');
  assert.equal(dofFeedback('lenet5', 'mnist-embedded', '150%').ok, false);
  assert.equal(dofFeedback('lenet5', 'mnist-embedded', '50000').ok, false);
  assert.match(dofFeedback('lenet5', 'mnist-embedded', '50000').message, /larger than the 44,190 generated weights/);
  assert.equal(dofFeedback('lenet5', 'mnist-embedded', '0%').ok, false);
  assert.equal(dofFeedback('lenet5', 'mnist-embedded', 'lots').ok, false);
  assert.equal(dofFeedback('resnet20', 'cifar10', '1000').ok, true);
});

test('epoch choices: realistic lengths with an estimate, from an earlier run when there is one', () => {
  const small = epochChoices('lenet5', 'mnist-embedded');
  assert.deepEqual(small.map((c) => c.epochs), [5, 10, 20]);
  assert.equal(small[1]!.detail, 'a usual run · ≈ 21 s at ~3,800 samples/s (wasm, 2-core CPU)');
  const cifar = epochChoices('resnet20', 'cifar10');
  assert.deepEqual(cifar.map((c) => c.epochs), [10, 30, 160]);
  assert.match(cifar[2]!.detail, /^the paper's schedule · ≈ 13 h 38 min at ~163 samples\/s/);
  const measured = epochChoices('resnet20', 'fashion-mnist', { trainCount: 6000, measured: { samplesPerSec: 300, from: 'your run r (x) trained on wasm' } });
  assert.equal(measured[0]!.detail, 'a quick look · ≈ 1 min 40 s at 300 samples/s, as your run r (x) trained on wasm');
});

test('the template names the chosen dataset folder and the chosen epochs; "decide later" leaves a flagged placeholder', () => {
  const template = readFileSync(path.join(__dirname, '../../templates/experiment.rpg.json'), 'utf8');
  const text = fillTemplate(template, { arch: 'lenet5', dataset: 'fashion-mnist', dof: '10%', name: 'f', dataPath: '/usr/share/datasets/fashion-mnist', epochs: 10 });
  const config = validateConfig(parse(text));
  assert.equal(config.data.path, '/usr/share/datasets/fashion-mnist');
  assert.equal(config.train.epochs, 10);
  const later = fillTemplate(template, { arch: 'resnet20', dataset: 'cifar10', dof: '10%', name: 'c', dataPath: null });
  assert.match(later, /"path": "data\/cifar10"/);
  assert.match(later, /until then the Problems view says what is missing/);
  assert.match(later, /"epochs": 30/);
});
