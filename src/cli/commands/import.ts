// `rpg import MODEL_JSON [--out CONFIG]`: a Keras / TensorFlow.js Layers model.json as the
// equivalent `model.graph` config (one node per line), ready to plan and train. Unsupported
// layers are one line each (layer, class, file) and exit 1; weights in the import are ignored.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, parseConfigText } from '../../core/config/load';
import type { GraphConfig } from '../../core/config/graph-schema';
import { convertModelJson } from '../../core/models/keras-import';
import { GraphError } from '../../core/models/graph';
import { buildModelSpec } from '../../core/models/architectures';
import { paramCount } from '../../core/models/spec';
import { count } from '../../core/format/numbers';
import { flagString, ParsedArgs, UsageError } from '../args';

export async function importCommand(args: ParsedArgs): Promise<number> {
  const file = args.positional[0];
  if (!file) throw new UsageError('missing MODEL_JSON (a Keras / TensorFlow.js Layers model.json)');
  const abs = path.resolve(file);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(abs, 'utf8'));
  } catch (err) {
    throw new ConfigError(abs, [{ path: [], message: err instanceof SyntaxError ? `not valid JSON (${err.message})` : `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})` }]);
  }
  let imported;
  try {
    imported = convertModelJson(json, abs, file);
  } catch (err) {
    if (err instanceof GraphError) {
      for (const i of err.issues) process.stderr.write(`rpg: error: ${i.message}\n`);
      return 1;
    }
    throw new ConfigError(abs, [{ path: [], message: (err as Error).message }]);
  }
  const out = flagString(args, 'out');
  const name = (out ? path.basename(out) : path.basename(path.dirname(abs)) || 'imported').replace(/\.rpg\.json$|\.json$/, '').replace(/[^A-Za-z0-9._-]+/g, '-');
  const text = configText(imported.graph, abs, out ? path.dirname(path.resolve(out)) : process.cwd(), name, imported.inputShape);
  // What was written must be a config that plans: checked here, before anyone trains it.
  const config = parseConfigText(text, out ?? '<stdout>');
  const shape = imported.inputShape ?? [28, 28, 1];
  const spec = buildModelSpec(config.model, { height: shape[0], width: shape[1], channels: shape[2], numClasses: config.model.numClasses ?? 10 });
  if (out) writeFileSync(path.resolve(out), text);
  else process.stdout.write(text);
  process.stderr.write(`imported ${path.relative(process.cwd(), abs) || abs}: ${imported.graph.nodes.length} nodes, ${count(paramCount(spec))} parameters${out ? ` → ${out}` : ''}\n`);
  return 0;
}

/** The dataset an input shape suggests (the user edits it if it is another). */
function dataFor(shape: readonly [number, number, number] | undefined): { data: Record<string, unknown>; note: string } {
  const [h, w, c] = shape ?? [0, 0, 0];
  if (h === 28 && w === 28 && c === 1) return { data: { dataset: 'mnist-embedded' }, note: '28×28×1 inputs: the embedded MNIST digits (or fashion-mnist with a path)' };
  if (h === 32 && w === 32 && c === 3) return { data: { dataset: 'cifar10', path: 'data/cifar10' }, note: '32×32×3 inputs: CIFAR-10 (set data.path)' };
  if (h === w && c === 3 && h >= 4) return { data: { dataset: 'image-folder', path: 'data/images', imageSize: h }, note: `${h}×${w}×3 inputs: an image folder (set data.path)` };
  return { data: { dataset: 'mnist-embedded' }, note: shape ? `${shape.join('×')} inputs match no dataset here: set data` : 'the model gives no input shape: set data' };
}

/** Classes from the output layer's units (a final softmax follows the dense it reads). */
function numClassesOf(graph: GraphConfig): number | undefined {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  let node = byId.get(graph.output ?? graph.nodes[graph.nodes.length - 1]!.id);
  if (node?.op === 'softmax') node = byId.get(node.inputs?.[0] ?? '');
  return node?.op === 'dense' && typeof node.units === 'number' ? node.units : undefined;
}

function configText(graph: GraphConfig, source: string, outDir: string, name: string, shape: readonly [number, number, number] | undefined): string {
  const { data, note } = dataFor(shape);
  const classes = numClassesOf(graph);
  const nodes = graph.nodes.map((n) => `        ${JSON.stringify(n)}`).join(',\n');
  const rel = path.relative(outDir, source) || source;
  return [
    `// Imported by \`rpg import\` from ${rel}: its topology as a graph (its weights are not used:`,
    `// the ring generates every kernel). Data: ${note}.`,
    '{',
    `  "name": ${JSON.stringify(name)},`,
    '  "seed": 1,',
    '  "model": {',
    ...(classes !== undefined ? [`    "numClasses": ${classes},`] : []),
    '    "graph": {',
    '      "nodes": [',
    nodes,
    '      ],',
    `      "output": ${JSON.stringify(graph.output)}`,
    '    }',
    '  },',
    '  "rpg": { "dof": "10%" },',
    `  "data": ${JSON.stringify(data)},`,
    '  "train": { "optimizer": "adam", "lr": 0.001, "batchSize": 64, "epochs": 10 }',
    '}',
    '',
  ].join('\n');
}
