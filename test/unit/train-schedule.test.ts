import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRate } from '../../src/core/train/schedule';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test('constant, step, cosine and the official exponential decay', () => {
  close(learningRate({ lr: 0.1, schedule: 'constant' }, 70, 100), 0.1);
  close(learningRate({ lr: 0.1, schedule: 'step' }, 49, 100), 0.1);
  close(learningRate({ lr: 0.1, schedule: 'step' }, 50, 100), 0.01);
  close(learningRate({ lr: 0.1, schedule: 'step' }, 75, 100), 0.001);
  close(learningRate({ lr: 0.1, schedule: 'cosine' }, 0, 100), 0.1);
  close(learningRate({ lr: 0.1, schedule: 'cosine' }, 50, 100), 0.05);
  close(learningRate({ lr: 0.1, schedule: 'cosine' }, 100, 100), 0);
  // Official: lr0 · 0.1^(epoch/45) over 90 epochs → epoch 45 of 90 is lr0 · 0.1.
  close(learningRate({ lr: 0.1, schedule: 'exp' }, 45, 90), 0.01);
  close(learningRate({ lr: 0.1, schedule: 'exp' }, 90, 90), 0.001);
});
