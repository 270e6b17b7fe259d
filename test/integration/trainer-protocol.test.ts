// The trainer's requests over real JSON-RPC on a real child process: initialize, train/start's
// config errors with their field, and stdin that is not protocol.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { ResponseError } from 'vscode-jsonrpc';
import { REQUEST_FAILED, TrainerErrorData, trainStartRequest, trainStopRequest } from '../../src/protocol';
import { initialize, killAll, REPO, removeDir, startTrainer, tempDir, tinyConfig, Trainer } from './trainer-harness';

const EXAMPLES = path.join(REPO, 'examples');

/** The error a request failed with, checked to be a structured REQUEST_FAILED. */
async function failure(promise: Promise<unknown>): Promise<{ message: string; data: TrainerErrorData }> {
  const err = await promise.then(
    () => assert.fail('the request should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ResponseError, `expected a ResponseError, got ${String(err)}`);
  assert.equal(err.code, REQUEST_FAILED);
  return { message: err.message, data: err.data as TrainerErrorData };
}

describe('trainer requests', () => {
  let trainer: Trainer;
  before(() => {
    trainer = startTrainer();
  });
  after(async () => {
    await trainer.close();
    killAll();
  });

  test('initialize reports the backend it selected', async () => {
    const init = await initialize(trainer);
    assert.equal(init.backend, 'cpu');
    assert.equal(init.pid, trainer.client.pid);
    assert.ok(init.backends.some((b) => b.name === 'cpu' && b.available));
    assert.match(init.versions.node, /^v\d+/);
    assert.match(init.versions.tfjs, /^\d+\.\d+/);
    assert.ok(init.reason.length > 0 && init.devices.length > 0 && init.threads >= 1);
  });

  test('a config error in train/start is a REQUEST_FAILED naming its field and code', async () => {
    const runsDir = tempDir('errors');
    try {
      const bad = await failure(trainer.client.request(trainStartRequest, { text: tinyConfig({ lr: -1 }), runsDir }));
      assert.equal(bad.data.code, 'config');
      assert.equal(bad.data.field, 'train.lr');
      const tooBig = await failure(trainer.client.request(trainStartRequest, { text: tinyConfig({}, { rpg: { dof: 10_000_000 } }), runsDir }));
      assert.equal(tooBig.data.code, 'plan');
      assert.equal(tooBig.data.field, 'rpg.dof');
      const syntax = await failure(trainer.client.request(trainStartRequest, { text: '{ "model": ', runsDir }));
      assert.equal(syntax.data.code, 'config');
      assert.match(syntax.message, /syntax error at 1:/);
      const missing = await failure(trainer.client.request(trainStartRequest, { configPath: path.join(EXAMPLES, 'no-such.rpg.json'), runsDir }));
      assert.equal(missing.data.file, path.join(EXAMPLES, 'no-such.rpg.json'));
      const nothing = await failure(trainer.client.request(trainStartRequest, { runsDir }));
      assert.equal(nothing.data.code, 'protocol');
      assert.deepEqual(readdirSync(runsDir), [], 'no run folder was created');
    } finally {
      removeDir(runsDir);
    }
  });

  test('train/start with an invalid config fails naming the field and creates nothing', async () => {
    const runsDir = tempDir('invalid');
    try {
      const bad = await failure(trainer.client.request(trainStartRequest, { text: tinyConfig({ batchSize: 0 }), runsDir }));
      assert.equal(bad.data.field, 'train.batchSize');
      const classes = await failure(trainer.client.request(trainStartRequest, { text: tinyConfig({}, { model: { arch: 'mlp', numClasses: 7 } }), runsDir }));
      assert.equal(classes.data.field, 'model.numClasses');
      const resume = await failure(trainer.client.request(trainStartRequest, { text: tinyConfig(), runsDir, resumeFrom: path.join(runsDir, 'nope') }));
      assert.equal(resume.data.code, 'checkpoint');
      assert.equal(resume.data.field, 'resumeFrom');
      const backend = await failure(trainer.client.request(trainStartRequest, { text: tinyConfig(), runsDir, backend: 'gpu' as never }));
      assert.equal(backend.data.field, 'backend');
      assert.deepEqual(readdirSync(runsDir), [], 'no run folder was created');
      assert.equal(trainer.of('train/started').length + trainer.of('train/failed').length, 0);
    } finally {
      removeDir(runsDir);
    }
  });
});

describe('trainer stdin robustness', () => {
  after(killAll);

  test('junk, bad headers, non-JSON and oversized messages are skipped; later requests are answered', async () => {
    const trainer = startTrainer({ RPG_TRAINER_MAX_MESSAGE_BYTES: '4096' });
    const stdin = trainer.client.process.stdin!;
    const write = (data: string | Buffer) => new Promise<void>((resolve, reject) => stdin.write(data, (err) => (err ? reject(err) : resolve())));
    const frame = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const ask = () => trainer.client.request(trainStopRequest, { runId: 'no-such-run' });

    assert.deepEqual(await ask(), { stopped: [] });
    await write(Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x0a, 0x0d, 0x0a, 0x0d, 0x0a]));
    await write('hello trainer\r\n\r\n');
    await write('Content-Length: banana\r\n\r\n');
    await write('Content-Length: 9\r\n\r\nnot json!');
    await write(frame('[]'));
    await write(frame('{"jsonrpc":"2.0","id":"x","nomethod":1}'));
    // Oversized: announced and streamed in parts; the trainer must skip it without buffering.
    await write('Content-Length: 20000\r\n\r\n' + 'x'.repeat(5000));
    await write('y'.repeat(15000));
    await write('garbage glued to the next message ');
    assert.deepEqual(await ask(), { stopped: [] }, 'the trainer still answers');

    const log = trainer.stderr.join('\n');
    assert.match(log, /ignored \d+ byte\(s\) of input that is not a JSON-RPC header/);
    assert.match(log, /ignored \d+ byte\(s\) of a header without a valid Content-Length/);
    assert.match(log, /ignored 9 byte\(s\) of a message body that is not JSON/);
    assert.match(log, /ignored 2 byte\(s\) of a message that is not a JSON-RPC object/);
    assert.match(log, /a 20000-byte message \(limit 4096\)/);
    assert.equal(trainer.client.exit, undefined, 'still running');
    await trainer.close();
    assert.deepEqual(trainer.client.exit, { code: 0, signal: null });
  });

  test('closing stdin (the client is gone) ends the trainer cleanly', async () => {
    const trainer = startTrainer();
    await trainer.client.request(trainStopRequest, {});
    trainer.client.process.stdin!.end();
    const exit = await trainer.client.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(trainer.stderr.join('\n'), /stdin closed/);
  });
});
