// The number formats every surface shares (CLI, extension, language server, webviews).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { count, percent, ratio } from '../../src/core/format/numbers';

test('count groups thousands and rounds to an integer', () => {
  assert.equal(count(21_266_496), '21,266,496');
  assert.equal(count(4419.6), '4,420');
  assert.equal(count(0), '0');
  assert.equal(count(-1234), '-1,234');
});

test('percent takes a fraction, one decimal by default', () => {
  assert.equal(percent(0.1234), '12.3%');
  assert.equal(percent(0.95, 2), '95.00%');
  assert.equal(percent(1), '100.0%');
});

test('ratio keeps 3 significant digits, groups from 100 up, and passes non-finite values through', () => {
  assert.equal(ratio(9.871), '9.87×');
  assert.equal(ratio(1.5), '1.5×');
  assert.equal(ratio(12.34), '12.3×');
  assert.equal(ratio(1234.4), '1,234×');
  assert.equal(ratio(Infinity), 'Infinity');
});

test('durations round once: 959.7 s is "16 min 0 s", never "15 min 60 s"', async () => {
  const { duration } = await import('../../src/core/format/numbers');
  assert.equal(duration(959.7), '16 min 0 s');
  assert.equal(duration(59.7), '1 min 0 s');
  assert.equal(duration(7.25), '7.3 s');
  assert.equal(duration(7380), '2 h 3 min');
  assert.equal(duration(-1), '–');
});
