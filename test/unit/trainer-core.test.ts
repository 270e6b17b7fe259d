// The trainer's pure parts: the progress throttle (with a fake clock, so the rate is exact and
// load cannot make it flaky), the run queue's start on the next turn, and how a run.json is read.
import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { ProgressThrottle } from '../../src/trainer/progress-throttle';
import { RunQueue } from '../../src/trainer/runs';
import { parseRunRecord, runOwnerAlive } from '../../src/core/runs/record';

describe('ProgressThrottle', () => {
  test('sends at most one row per interval, always the newest, and flush sends the last', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    try {
      const sent: { step: number; at: number }[] = [];
      const throttle = new ProgressThrottle<number>(100, (step) => sent.push({ step, at: Date.now() }));
      // 1000 rows over 2 s, one every 2 ms.
      for (let step = 1; step <= 1000; step++) {
        throttle.push(step);
        mock.timers.tick(2);
      }
      const flushed = throttle.flush();
      mock.timers.tick(100);
      await flushed;
      throttle.dispose();
      assert.equal(sent[0]!.step, 1, 'the first row goes out at once');
      assert.equal(sent.at(-1)!.step, 1000, 'the last row is never dropped');
      for (let i = 1; i < sent.length; i++) assert.ok(sent[i]!.at - sent[i - 1]!.at >= 100, `rows ${i - 1} and ${i} are ${sent[i]!.at - sent[i - 1]!.at} ms apart`);
      assert.ok(sent.length <= 2000 / 100 + 2, `${sent.length} rows in 2 s`);
      const steps = sent.map((s) => s.step);
      assert.deepEqual(steps, [...steps].sort((a, b) => a - b));
    } finally {
      mock.timers.reset();
    }
  });
});

describe('RunQueue', () => {
  test('a run starts on the next turn of the event loop, after the answer to train/start', async () => {
    const sent: string[] = [];
    const queue = new RunQueue(
      async () => {
        throw new Error('boom');
      },
      (type) => void sent.push(type.method),
    );
    assert.equal(queue.submit({ runId: 'r1', job: { kind: 'train', options: { config: {} as never, runsDir: '/nonexistent' } } }), 0);
    for (let i = 0; i < 10; i++) await Promise.resolve();
    assert.deepEqual(sent, [], 'nothing is reported in the tick of the submit');
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(sent, ['train/failed']);
  });

  test('a run stopped before it started is cancelled, not trained', async () => {
    const sent: string[] = [];
    let trained = 0;
    const queue = new RunQueue(
      async () => {
        trained++;
        throw new Error('never');
      },
      (type) => void sent.push(type.method),
    );
    queue.submit({ runId: 'r1', job: { kind: 'train', options: { config: {} as never, runsDir: '/nonexistent' } } });
    assert.deepEqual(queue.stop('r1'), ['r1']);
    assert.equal(await queue.stopAll(1000), true);
    assert.equal(trained, 0);
    assert.deepEqual(sent, ['train/cancelled']);
  });
});

describe('parseRunRecord', () => {
  const base = { runId: 'r1', name: 'exp', config: {}, status: 'finished', backend: 'cpu', arch: 'mlp', dataset: 'mnist', dof: 10, ringSize: 10, totalParams: 100, startedAt: 'x', durationSec: 1, step: 5, epoch: 1 };

  test('a well-formed record reads as written', () => {
    assert.deepEqual(parseRunRecord(JSON.stringify(base), '/runs/exp/r1'), base);
  });

  test('not JSON, or not an object: no record', () => {
    assert.equal(parseRunRecord('{', '/runs/exp/r1'), undefined);
    assert.equal(parseRunRecord('[1]', '/runs/exp/r1'), undefined);
    assert.equal(parseRunRecord('null', '/runs/exp/r1'), undefined);
  });

  test('an unknown status reads as failed with a note; missing fields get defaults', () => {
    const r = parseRunRecord(JSON.stringify({ status: 'exploded', step: 'many', bestAcc: 'high', error: 'oops' }), '/runs/exp/r9')!;
    assert.equal(r.status, 'failed');
    assert.match(r.error!.message, /unknown status "exploded"/);
    assert.equal(r.runId, 'r9');
    assert.equal(r.name, 'r9');
    assert.equal(r.step, 0);
    assert.equal(r.bestAcc, undefined);
    assert.equal(r.arch, '?');
  });

  test('runOwnerAlive: this process is alive, a dead pid is not, another host is unknown', () => {
    assert.equal(runOwnerAlive({ pid: process.pid, hostname: hostname() }), true);
    assert.equal(runOwnerAlive({ pid: 2 ** 22 + 12345, hostname: hostname() }), false);
    assert.equal(runOwnerAlive({ pid: process.pid, hostname: `not-${hostname()}` }), undefined);
    assert.equal(runOwnerAlive({}), undefined);
  });
});
