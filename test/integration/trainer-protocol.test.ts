// The trainer's requests over real JSON-RPC on a real child process: initialize, plan,
// plan/layerWeights, config errors with their field, and stdin that is not protocol.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { ResponseError } from 'vscode-jsonrpc';
import { loadConfigFile, parseConfigText } from '../../src/core/config/load';
import { resolveExperiment } from '../../src/core/experiment/resolve';
import { DatasetError, describeDataset } from '../../src/core/data/index';
import { nominalDatasetInfo } from '../../src/core/data/standard-shapes';
import { layerWeightsRequest, planRequest, REQUEST_FAILED, TrainerErrorData, trainStartRequest } from '../../src/protocol';
import { generateWeights, initialRing, materializePlan } from '../../src/core/rpg/materialize';
import { initialize, killAll, REPO, removeDir, startTrainer, tempDir, tinyConfig, Trainer } from './trainer-harness';

const EXAMPLES = path.join(REPO, 'examples');
const exampleFiles = readdirSync(EXAMPLES).filter((f) => f.endsWith('.rpg.json'));

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

  test('plan of every example matches the in-process DoF accounting', async () => {
    assert.ok(exampleFiles.length > 0, 'examples/ has configs');
    let planned = 0;
    for (const file of exampleFiles) {
      const configPath = path.join(EXAMPLES, file);
      const config = loadConfigFile(configPath);
      let info;
      let missingData = false;
      try {
        info = describeDataset(config.data, EXAMPLES);
      } catch (err) {
        // A dataset that is not on this machine: planned with its standard shape, and said so.
        assert.ok(err instanceof DatasetError, String(err));
        info = nominalDatasetInfo(config.data, config.model.numClasses);
        missingData = true;
      }
      const expected = resolveExperiment(config, info);
      const plan = await trainer.client.request(planRequest, { configPath });
      assert.equal(plan.inputNote !== undefined, missingData, `${file}: inputNote only when the data is missing`);
      if (missingData) assert.match(plan.inputNote!, /planned with the standard/);
      assert.deepEqual(plan.summary, JSON.parse(JSON.stringify(expected.summary)), file);
      assert.equal(plan.ringSize, expected.summary.ringSize, file);
      assert.equal(plan.configPath, configPath);
      const generated = expected.summary.rows.filter((r) => r.generated);
      assert.deepEqual(plan.layers.map((l) => [l.name, l.params, l.offset]), generated.map((r) => [r.name, r.params, r.offset]), file);
      assert.equal(plan.free.reduce((s, p) => s + p.params, 0), expected.summary.freeParams, file);
      if (plan.mode === 'ring') {
        for (const l of plan.layers) {
          const fetched = l.spans.reduce((s, sp) => s + sp.end - sp.start, 0) + l.fullWraps * plan.ringSize;
          assert.equal(fetched, l.params, `${file} ${l.name}: spans cover the layer`);
        }
      }
      planned++;
    }
    assert.ok(planned >= 3, `${planned} examples planned`);
  });

  test('unsaved text wins over the file it names', async () => {
    const configPath = path.join(EXAMPLES, exampleFiles[0]!);
    const plan = await trainer.client.request(planRequest, { configPath, text: tinyConfig({}, { rpg: { dof: 1000 } }) });
    assert.equal(plan.name, 'tiny-mlp');
    assert.equal(plan.ringSize, 1000);
    assert.equal(plan.summary.arch, 'mlp');
  });

  test('config errors name the field', async () => {
    const bad = await failure(trainer.client.request(planRequest, { text: tinyConfig({ lr: -1 }) }));
    assert.equal(bad.data.code, 'config');
    assert.equal(bad.data.field, 'train.lr');
    const tooBig = await failure(trainer.client.request(planRequest, { text: tinyConfig({}, { rpg: { dof: 10_000_000 } }) }));
    assert.equal(tooBig.data.code, 'plan');
    assert.equal(tooBig.data.field, 'rpg.dof');
    const syntax = await failure(trainer.client.request(planRequest, { text: '{ "model": ' }));
    assert.equal(syntax.data.code, 'config');
    assert.match(syntax.message, /syntax error at 1:/);
    const missing = await failure(trainer.client.request(planRequest, { configPath: path.join(EXAMPLES, 'no-such.rpg.json') }));
    assert.equal(missing.data.file, path.join(EXAMPLES, 'no-such.rpg.json'));
    const nothing = await failure(trainer.client.request(planRequest, {}));
    assert.equal(nothing.data.code, 'protocol');
  });

  test('layer weights of the initial ring equal the reference generation', async () => {
    const text = tinyConfig();
    const plan = await trainer.client.request(planRequest, { text });
    const layer = plan.layers[0]!;
    const full = await trainer.client.request(layerWeightsRequest, { text, layer: layer.name, maxValues: 1e9 });
    const resolved = resolveExperiment(parseConfigText(text), { height: 28, width: 28, channels: 1, numClasses: 10 });
    const reference = generateWeights(materializePlan(resolved.plan!), initialRing(resolved.plan!)).subarray(layer.offset, layer.offset + layer.params);
    assert.equal(full.source, 'initial');
    assert.deepEqual([full.rows, full.cols], [784, 32]);
    assert.deepEqual(full.values, Array.from(reference));
    assert.equal(full.histogram.counts.reduce((a, b) => a + b, 0), layer.params);
    assert.equal(full.histogram.edges.length, full.histogram.counts.length + 1);
    assert.ok(full.signBalance > 0.45 && full.signBalance < 0.55, `sign balance ${full.signBalance}`);

    const sample = await trainer.client.request(layerWeightsRequest, { text, layer: layer.name, maxValues: 500 });
    assert.ok(sample.values.length <= 500 && sample.values.length === sample.rows * sample.cols, `${sample.rows}×${sample.cols}`);
    assert.deepEqual(sample.histogram, full.histogram, 'the histogram covers every weight, not the sample');
    const again = await trainer.client.request(layerWeightsRequest, { text, layer: layer.name, maxValues: 500 });
    assert.deepEqual(again.values, sample.values, 'the sample is deterministic');

    const unknown = await failure(trainer.client.request(layerWeightsRequest, { text, layer: 'conv9' }));
    assert.equal(unknown.data.field, 'layer');
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
    const ask = () => trainer.client.request(planRequest, { text: tinyConfig() });

    assert.equal((await ask()).name, 'tiny-mlp');
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
    assert.equal((await ask()).name, 'tiny-mlp', 'the trainer still answers');

    const log = trainer.stderr.join('\n');
    assert.match(log, /ignored \d+ byte\(s\) of input that is not a JSON-RPC header/);
    assert.match(log, /ignored \d+ byte\(s\) of a header without a valid Content-Length/);
    assert.match(log, /ignored 9 byte\(s\) of a message body that is not JSON/);
    assert.match(log, /ignored 2 byte\(s\) of a message that is not a JSON-RPC object/);
    assert.match(log, /a 20000-byte message \(limit 4096\)/);
    assert.match(log, /jsonrpc: Received message which is neither a response nor a notification/);
    assert.equal(trainer.client.exit, undefined, 'still running');
    await trainer.close();
    assert.deepEqual(trainer.client.exit, { code: 0, signal: null });
  });

  test('closing stdin (the client is gone) ends the trainer cleanly', async () => {
    const trainer = startTrainer();
    await trainer.client.request(planRequest, { text: tinyConfig() });
    trainer.client.process.stdin!.end();
    const exit = await trainer.client.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(trainer.stderr.join('\n'), /stdin closed/);
  });
});
