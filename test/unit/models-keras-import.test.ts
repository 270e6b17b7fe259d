// Reading model.json topologies in the layouts writers produce: tfjs model.save() (Sequential
// and Functional, checked against tfjs-layers' own countParams), tensorflowjs_converter from
// Keras 2 (the topology under "model_config", "Functional" class), Keras 3 node records
// (keras_history), embeddings, and what is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { convertModelJson } from '../../src/core/models/keras-import';
import { buildGraphSpec, GraphError } from '../../src/core/models/graph';
import { paramCount } from '../../src/core/models/spec';
import { functionalMix, mnistCnn } from '../fixtures/keras/generate';

const mnist = { height: 28, width: 28, channels: 1, numClasses: 10 };

async function topologyOf(model: tfl.LayersModel): Promise<unknown> {
  let topology: unknown;
  await model.save(tf.io.withSaveHandler(async (a) => {
    topology = a.modelTopology;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return { modelTopology: topology };
}

const specOf = (json: unknown, input = mnist) => {
  const g = convertModelJson(json, '/m/model.json');
  return buildGraphSpec(g.graph, input, { arch: g.arch, basePath: ['model', 'import'], fixedPath: ['model', 'import'], describe: g.describe });
};

test('tfjs-layers Sequential and Functional topologies: the same trainable count as countParams() less BatchNorm\'s moving statistics', async () => {
  await tf.setBackend('cpu');
  const seq = mnistCnn();
  assert.equal(paramCount(specOf(await topologyOf(seq))), seq.countParams() - 32);
  const fn = functionalMix();
  const spec = specOf(await topologyOf(fn));
  assert.equal(paramCount(spec), fn.countParams());
  assert.deepEqual(spec.params.filter((p) => p.kind === 'depthwise').map((p) => [p.name, p.shape]), [['dw.kernel', [3, 3, 8, 2]], ['sep.kernel', [3, 3, 8, 1]]]);
});

test('tensorflowjs_converter from Keras 2: the topology under model_config, class Functional, activations inside layers', () => {
  const json = {
    format: 'layers-model',
    modelTopology: {
      keras_version: '2.13.1', backend: 'tensorflow',
      model_config: { class_name: 'Functional', config: { name: 'converted', layers: [
        { class_name: 'InputLayer', config: { batch_input_shape: [null, 28, 28, 1], name: 'in' }, name: 'in', inbound_nodes: [] },
        { class_name: 'Conv2D', config: { name: 'c', filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true }, name: 'c', inbound_nodes: [[['in', 0, 0, {}]]] },
        { class_name: 'GlobalAveragePooling2D', config: { name: 'g', data_format: 'channels_last', keepdims: false }, name: 'g', inbound_nodes: [[['c', 0, 0, {}]]] },
        { class_name: 'Dense', config: { name: 'out', units: 10, activation: 'softmax' }, name: 'out', inbound_nodes: [[['g', 0, 0, {}]]] },
      ], input_layers: [['in', 0, 0]], output_layers: [['out', 0, 0]] } },
    },
  };
  const g = convertModelJson(json, '/m/model.json');
  assert.deepEqual(g.graph.nodes.map((n) => [n.id, n.op, n.inputs]), [['c', 'conv2d', ['input']], ['c_act', 'relu', ['c']], ['g', 'globalAvgPool', ['c_act']], ['out', 'dense', ['g']], ['out_act', 'softmax', ['out']]]);
  assert.equal(g.graph.output, 'out_act');
  assert.equal(paramCount(specOf(json)), 9 * 4 + 4 + 4 * 10 + 10);
});

test('Keras 3 node records (args with keras_history, batch_shape) and layers listed out of order', () => {
  const tensor = (name: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 1], dtype: 'float32', keras_history: [name, 0, 0] } });
  const json = { modelTopology: { class_name: 'Functional', config: { name: 'k3', layers: [
    { class_name: 'Add', config: { name: 'sum' }, name: 'sum', inbound_nodes: [{ args: [[tensor('a'), tensor('b')]], kwargs: {} }] },
    { class_name: 'InputLayer', config: { batch_shape: [null, 28, 28, 1], name: 'x' }, name: 'x', inbound_nodes: [] },
    { class_name: 'Conv2D', config: { name: 'a', filters: 3, kernel_size: [1, 1], padding: 'valid' }, name: 'a', inbound_nodes: [{ args: [tensor('x')], kwargs: {} }] },
    { class_name: 'Conv2D', config: { name: 'b', filters: 3, kernel_size: [3, 3], padding: 'same' }, name: 'b', inbound_nodes: [{ args: [tensor('x')], kwargs: {} }] },
    { class_name: 'Flatten', config: { name: 'f' }, name: 'f', inbound_nodes: [{ args: [tensor('sum')], kwargs: {} }] },
    { class_name: 'Dense', config: { name: 'd', units: 10 }, name: 'd', inbound_nodes: [{ args: [tensor('f')], kwargs: {} }] },
  ], input_layers: [['x', 0, 0]], output_layers: [['d', 0, 0]] } } };
  const g = convertModelJson(json, '/m/model.json');
  assert.deepEqual(g.inputShape, [28, 28, 1]);
  assert.deepEqual(g.graph.nodes.find((n) => n.id === 'sum')!.inputs, ['a', 'b']);
  assert.equal(paramCount(specOf(json)), 3 + 3 + 27 + 3 + 28 * 28 * 3 * 10 + 10);
});

test('an Embedding over a sequence imports; every unsupported layer is its own issue naming layer, class and file', async () => {
  await tf.setBackend('cpu');
  const text = tfl.sequential({ layers: [tfl.layers.embedding({ inputDim: 50, outputDim: 8, inputLength: 12 }), tfl.layers.globalAveragePooling1d({}), tfl.layers.dense({ units: 3 })] });
  const g = convertModelJson(await topologyOf(text), '/m/model.json');
  assert.deepEqual(g.graph.nodes.map((n) => n.op), ['embedding', 'globalAvgPool', 'dense']);
  assert.equal(g.inputShape, undefined, 'a [batch, 12] input is not an image');
  const bad = { modelTopology: { class_name: 'Sequential', config: { layers: [
    { class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: [1, 7], batch_input_shape: [null, 28, 28, 1] } },
    { class_name: 'Lambda', config: { name: 'l' } },
    { class_name: 'Conv2D', config: { name: 'cf', filters: 2, kernel_size: 3, data_format: 'channels_first' } },
    { class_name: 'Dense', config: { name: 'd', units: 2 } },
  ] } } };
  assert.throws(() => convertModelJson(bad, '/m/model.json', 'models/m.json'), (e: unknown) => {
    assert.ok(e instanceof GraphError);
    assert.deepEqual(e.issues.map((i) => i.message), [
      'models/m.json: layer `c` (Conv2D) has a non-square kernel_size 1×7 (only square ones are supported)',
      'models/m.json: layer `l` (Lambda) is not supported (supported classes: InputLayer, Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, BatchNormalization, LayerNormalization, Activation, ReLU, Softmax, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalMaxPooling1D, Flatten, Reshape, Dropout, Add, Concatenate, Embedding)',
      'models/m.json: layer `cf` (Conv2D) has data_format "channels_first" (only channels_last)',
    ]);
    assert.ok(e.issues.every((i) => i.path.join('.') === 'model.import' && i.code === 'import-unsupported'));
    return true;
  });
  assert.throws(() => convertModelJson({ format: 'graph-model', modelTopology: { node: [] } }, '/m/model.json'), /a graph model \(tf\.saved_model \/ GraphModel\) cannot be imported/);
});
