// `rpg export RUN|FILE.rpgz|CONFIG [--format tfjs|torchrun|rpgz|onnx] [--out DIR|FILE]`.
import * as path from 'node:path';
import { backendFlag, flagString, ParsedArgs, UsageError } from '../args';
import { count } from '../../core/format/numbers';
import { compressCommand, fmtBytes } from './compress';
import { exportTfjs } from '../../export/index';
import { exportTorchrun } from '../../export/torchrun';
import { TrainError } from '../../core/errors';

const out = (s: string) => process.stdout.write(s + '\n');

export const ONNX_NOTE =
  'ONNX export is not implemented: npm has no maintained ONNX exporter for TensorFlow.js models (onnxruntime-node/-web only run ONNX models; onnx-proto only has the protobuf definitions, so the graph would have to be written by hand). ' +
  'Export with --format tfjs and convert with the Python tools (tensorflowjs_converter to a SavedModel, then tf2onnx).';

export async function exportCommand(args: ParsedArgs): Promise<number> {
  const source = args.positional[0];
  if (!source) throw new UsageError('export needs RUN (a run folder) or FILE.rpgz');
  const format = flagString(args, 'format') ?? 'tfjs';
  if (format === 'onnx') throw new TrainError('config', ONNX_NOTE);
  if (format === 'rpgz') return compressCommand(args);
  if (format === 'torchrun') return torchrunExport(source, args);
  if (format !== 'tfjs') throw new UsageError(`--format must be tfjs, torchrun, rpgz or onnx, got "${format}"`);
  const base = source.replace(/[\\/]+$/, '');
  const dir = path.resolve(flagString(args, 'out') ?? (base.endsWith('.rpgz') ? base.replace(/\.rpgz$/, '-tfjs') : path.join(base, 'tfjs')));
  const r = await exportTfjs(source, dir, backendFlag(args));
  out(`exported ${r.arch} (${count(r.params)} parameters) as a TensorFlow.js Layers model: ${r.modelJson} + weights.bin (${fmtBytes(r.bytes)}), rpg-export.json (preprocessing, classes)`);
  out(`check on ${r.batch} test images after save → load: max |Δlogit| ${r.maxAbsDiff.toExponential(2)} (relative ${r.relDiff.toExponential(2)}), same prediction on ${(r.argmaxAgreement * 100).toFixed(1)}%`);
  if (r.argmaxAgreement < 1 || r.relDiff > 1e-4) {
    process.stderr.write('rpg: warning: the exported model does not reproduce this model\'s predictions within 1e-4\n');
    return 1;
  }
  return 0;
}

/** --format torchrun: a folder that trains RUN (continuing it) or CONFIG on a cluster. */
function torchrunExport(source: string, args: ParsedArgs): number {
  const outDir = flagString(args, 'out');
  if (!outDir) throw new UsageError('export --format torchrun needs --out DIR (a new folder)');
  const r = exportTorchrun(source, outDir);
  out(`wrote ${r.dir} (${r.files} files): ${r.resumes ? 'continues' : 'trains'} ${path.relative(r.dir, r.runDir)} with torchrun`);
  out(`  one node:    ${path.join(r.dir, 'train.sh')}`);
  out(`  two processes here:  NPROC_PER_NODE=2 ${path.join(r.dir, 'train.sh')}`);
  out(`  many nodes, Slurm:   see ${path.join(r.dir, 'README.md')}`);
  return 0;
}
