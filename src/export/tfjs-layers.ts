// Exports the generated full model as a TensorFlow.js Layers model (model.json + weights.bin),
// loadable with tf.loadLayersModel in a browser or Node. Every op of a ModelSpec has a Layers
// equivalent: conv (Conv2D), dense, BatchNorm (inference mode: running statistics, ε = 1e-5),
// ReLU, max-pool, global average pool, flatten, add, and the CIFAR "option A" shortcut as a
// frozen 1×1 strided Conv2D whose kernel embeds the input channels (exact: it multiplies by 1
// and adds zeros). So MLP, LeNet-5 and every ResNet (CIFAR and ImageNet stems) are supported,
// and of the graph ops: dilated and depthwise convolutions (a conv with groups = channels is a
// DepthwiseConv2D), dense over tokens, LayerNorm, the activations, average/global pools,
// reshape, dropout, concat and embeddings — VGG and MobileNetV2 export. Self-attention, class
// tokens, position embeddings, token selection and other grouped convolutions have no Layers
// class: exporting a model with one is an error naming the op (a ViT does not export).
// Inputs are the normalized images the trainer feeds: x = (byte/255 − mean[c]) / std[c]; the
// mean/std (and class names) go to rpg-export.json next to model.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ModelSpec } from '../core/models/spec';
import type { FullWeights } from './weights';

const layerName = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');

/** A model with an op that no TensorFlow.js Layers class computes. */
export class ExportUnsupportedError extends Error {}

export function buildLayersModel(spec: ModelSpec, w: FullWeights): tfl.LayersModel {
  const [h, wd, c] = spec.inputShape;
  const input = tfl.input({ shape: [h, wd, c], name: 'input' });
  const values = new Map<string, tfl.SymbolicTensor>([[spec.input, input]]);
  const pending: { layer: tfl.layers.Layer; weights: { shape: number[]; values: Float32Array }[] }[] = [];
  const param = (name: string) => {
    const v = w.params.get(name);
    if (!v) throw new Error(`missing parameter ${name}`);
    return { shape: [...spec.params.find((p) => p.name === name)!.shape], values: v };
  };
  let counter = 0;
  const unique = (base: string) => `${layerName(base)}_${counter++}`;
  for (const op of spec.ops) {
    let layer: tfl.layers.Layer;
    let inputs: tfl.SymbolicTensor | tfl.SymbolicTensor[];
    switch (op.op) {
      case 'conv': {
        const k = param(op.weight);
        inputs = values.get(op.input)!;
        const groups = op.groups ?? 1;
        const channels = inputs.shape[3]!;
        const dilationRate = op.dilation ?? 1;
        if (groups === 1) {
          layer = tfl.layers.conv2d({ filters: k.shape[3]!, kernelSize: k.shape[0]!, strides: op.stride, padding: op.padding, dilationRate, useBias: !!op.bias, name: unique(op.name) });
          pending.push({ layer, weights: [k, ...(op.bias ? [param(op.bias)] : [])] });
        } else if (groups === channels && k.shape[2] === 1) {
          // [k,k,1,c·m] is the depthwise filter [k,k,c,m]: same values, same channel order.
          const m = k.shape[3]! / channels;
          layer = tfl.layers.depthwiseConv2d({ kernelSize: k.shape[0]!, strides: op.stride, padding: op.padding, dilationRate, depthMultiplier: m, useBias: !!op.bias, name: unique(op.name) });
          pending.push({ layer, weights: [{ shape: [k.shape[0]!, k.shape[1]!, channels, m], values: k.values }, ...(op.bias ? [param(op.bias)] : [])] });
        } else {
          throw new ExportUnsupportedError(`${op.name}: a convolution with ${groups} groups has no TensorFlow.js Layers equivalent (Conv2D has no groups)`);
        }
        break;
      }
      case 'depthwise': {
        const k = param(op.weight);
        layer = tfl.layers.depthwiseConv2d({ kernelSize: k.shape[0]!, strides: op.stride, padding: op.padding, dilationRate: op.dilation ?? 1, depthMultiplier: k.shape[3]!, useBias: !!op.bias, name: unique(op.name) });
        pending.push({ layer, weights: [k, ...(op.bias ? [param(op.bias)] : [])] });
        inputs = values.get(op.input)!;
        break;
      }
      case 'layernorm':
        layer = tfl.layers.layerNormalization({ axis: -1, epsilon: op.epsilon, name: unique(op.name) });
        pending.push({ layer, weights: [param(op.gamma), param(op.beta)] });
        inputs = values.get(op.input)!;
        break;
      case 'activation':
        layer = tfl.layers.activation({ activation: op.fn, name: unique(op.fn) });
        inputs = values.get(op.input)!;
        break;
      case 'avgpool':
        layer = tfl.layers.averagePooling2d({ poolSize: op.size, strides: op.stride, padding: op.padding, name: unique('avgpool') });
        inputs = values.get(op.input)!;
        break;
      case 'globalmaxpool':
        inputs = values.get(op.input)!;
        layer = inputs.shape.length === 4 ? tfl.layers.globalMaxPooling2d({ name: unique('gmp') }) : tfl.layers.globalMaxPooling1d({ name: unique('gmp') });
        break;
      case 'reshape':
        layer = tfl.layers.reshape({ targetShape: [...op.shape], name: unique('reshape') });
        inputs = values.get(op.input)!;
        break;
      case 'dropout':
        layer = tfl.layers.dropout({ rate: op.rate, name: unique(op.name) });
        inputs = values.get(op.input)!;
        break;
      case 'concat':
        layer = tfl.layers.concatenate({ axis: op.axis + 1, name: unique('concat') });
        inputs = op.inputs.map((i) => values.get(i)!);
        break;
      case 'embedding': {
        const t = param(op.weight);
        layer = tfl.layers.embedding({ inputDim: t.shape[0]!, outputDim: t.shape[1]!, name: unique(op.name) });
        pending.push({ layer, weights: [t] });
        inputs = values.get(op.input)!;
        break;
      }
      case 'attention':
      case 'class-token':
      case 'position-embedding':
      case 'select-token':
        throw new ExportUnsupportedError(`${'name' in op ? op.name : op.output}: ${op.op} has no TensorFlow.js Layers equivalent (tfjs-layers has no self-attention, token or position-embedding layer)`);
      case 'dense': {
        const k = param(op.weight);
        layer = tfl.layers.dense({ units: k.shape[1]!, useBias: !!op.bias, name: unique(op.name) });
        pending.push({ layer, weights: [k, ...(op.bias ? [param(op.bias)] : [])] });
        inputs = values.get(op.input)!;
        break;
      }
      case 'batchnorm': {
        const r = w.running.get(op.name)!;
        layer = tfl.layers.batchNormalization({ axis: -1, epsilon: op.epsilon ?? 1e-5, momentum: 0.9, name: unique(op.name) });
        const n = r.mean.length;
        pending.push({ layer, weights: [param(op.gamma), param(op.beta), { shape: [n], values: r.mean }, { shape: [n], values: r.variance }] });
        inputs = values.get(op.input)!;
        break;
      }
      case 'relu':
        layer = tfl.layers.reLU({ name: unique('relu') });
        inputs = values.get(op.input)!;
        break;
      case 'maxpool':
        layer = tfl.layers.maxPooling2d({ poolSize: op.size, strides: op.stride, padding: op.padding, name: unique('maxpool') });
        inputs = values.get(op.input)!;
        break;
      case 'globalavgpool':
        inputs = values.get(op.input)!;
        layer = inputs.shape.length === 4 ? tfl.layers.globalAveragePooling2d({ name: unique('gap') }) : tfl.layers.globalAveragePooling1d({ name: unique('gap') });
        break;
      case 'flatten':
        layer = tfl.layers.flatten({ name: unique('flatten') });
        inputs = values.get(op.input)!;
        break;
      case 'add':
        layer = tfl.layers.add({ name: unique('add') });
        inputs = [values.get(op.inputs[0])!, values.get(op.inputs[1])!];
        break;
      case 'pad-shortcut': {
        inputs = values.get(op.input)!;
        const cin = inputs.shape[3]!;
        const before = Math.floor((op.outChannels - cin) / 2);
        const kernel = new Float32Array(cin * op.outChannels);
        for (let i = 0; i < cin; i++) kernel[i * op.outChannels + before + i] = 1;
        layer = tfl.layers.conv2d({ filters: op.outChannels, kernelSize: 1, strides: op.stride, padding: 'valid', useBias: false, trainable: false, name: unique('shortcut') });
        pending.push({ layer, weights: [{ shape: [1, 1, cin, op.outChannels], values: kernel }] });
        break;
      }
    }
    values.set(op.output, layer.apply(inputs) as tfl.SymbolicTensor);
  }
  const model = tfl.model({ inputs: input, outputs: values.get(spec.output)!, name: `rpg_${layerName(spec.arch)}` });
  for (const { layer, weights } of pending) {
    const ts = weights.map((x) => tf.tensor(x.values, x.shape));
    layer.setWeights(ts);
    tf.dispose(ts);
  }
  return model;
}

export interface SavedLayersModel {
  readonly dir: string;
  readonly modelJson: string;
  readonly weightsBin: string;
  readonly bytes: number;
}

/** Saves as model.json + weights.bin (the tfjs "layers-model" format) without tfjs-node. */
export async function saveLayersModel(model: tfl.LayersModel, dir: string, extra: Record<string, unknown>): Promise<SavedLayersModel> {
  mkdirSync(dir, { recursive: true });
  const modelJson = path.join(dir, 'model.json');
  const weightsBin = path.join(dir, 'weights.bin');
  let bytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData === undefined ? [] : Array.isArray(a.weightData) ? a.weightData : [a.weightData];
      const bin = Buffer.concat(data.map((b) => Buffer.from(b)));
      bytes = bin.length;
      writeFileSync(weightsBin, bin);
      const json = { format: 'layers-model', generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`, convertedBy: 'RPG Studio', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] };
      writeFileSync(modelJson, JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bin.length } };
    }),
  );
  writeFileSync(path.join(dir, 'rpg-export.json'), JSON.stringify(extra, null, 2) + '\n');
  return { dir, modelJson, weightsBin, bytes };
}

/** Loads model.json + weights.bin written by saveLayersModel (or any single-shard layers model). */
export async function loadSavedLayersModel(dir: string): Promise<tfl.LayersModel> {
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const bins = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(path.join(dir, p))));
  const all = Buffer.concat(bins);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
}
