// What the New Experiment wizard tells the user while they choose, kept free of vscode so it can
// be tested directly: the ring size a DoF answer gives for this model (or why it cannot be), the
// usual training lengths with an estimate of their time, and the template's defaults.
import { validateConfig } from '../core/config/load';
import type { Architecture, DatasetName } from '../core/config/schema';
import { nominalDatasetInfo } from '../core/data/standard-shapes';
import { resolveExperiment } from '../core/experiment/resolve';
import { count, duration, percent } from '../core/format/numbers';
import { resolveRingSize } from '../core/rpg/plan';

/** What fills the template: the wizard's answers. */
export interface TemplateChoices {
  readonly arch: string;
  readonly dataset: string;
  readonly dof: string | number;
  readonly name: string;
  /** Where the dataset's files are; null or absent: a placeholder to fix ("decide later"). */
  readonly dataPath?: string | null;
  readonly epochs?: number;
}

export type DofFeedback = { readonly ok: true; readonly message: string; readonly ringSize: number } | { readonly ok: false; readonly message: string };

const DOF_PERCENT = /^\s*(\d+(\.\d+)?|\.\d+)\s*%\s*$/;
const DOF_INTEGER = /^\s*[1-9]\d*\s*$/;

/** The model the wizard would write, resolved on the dataset's standard shape (no files needed). */
function generatedCount(arch: Architecture, dataset: DatasetName): { generated: number; total: number } {
  const config = validateConfig({ model: modelOf(arch), rpg: { dof: '100%' }, data: { dataset, ...(dataset === 'mnist-embedded' ? {} : { path: '.' }) } });
  const r = resolveExperiment(config, nominalDatasetInfo(config.data));
  return { generated: r.summary.generatedParams, total: r.summary.totalParams };
}

/** The model object the template gets for an architecture. */
export function modelOf(arch: string): Record<string, unknown> {
  if (arch === 'mlp') return { arch: 'mlp', hidden: [128] };
  if (arch === 'resnet18' || arch === 'resnet34') return { arch, smallInput: true };
  return { arch };
}

/**
 * What a DoF answer means for this model, said while it is typed: "ring of 4,419 entries: 10%
 * of the 44,190 generated weights", or why it is not possible ("150%" is more than all of them).
 */
export function dofFeedback(arch: Architecture, dataset: DatasetName, answer: string): DofFeedback {
  const { generated, total } = generatedCount(arch, dataset);
  let ring: number;
  if (DOF_PERCENT.test(answer)) {
    const pct = parseFloat(answer);
    if (!(pct > 0)) return { ok: false, message: 'The ring needs at least one entry: a percentage above 0%.' };
    if (pct > 100) return { ok: false, message: `${answer.trim()} is more than all ${count(generated)} generated weights: at most 100% (the plain model up to permutation and signs).` };
    ring = resolveRingSize(answer.trim(), generated);
  } else if (DOF_INTEGER.test(answer)) {
    ring = Number(answer);
    if (ring > generated) return { ok: false, message: `A ring of ${count(ring)} entries is larger than the ${count(generated)} generated weights of this model: at most ${count(generated)}.` };
  } else {
    return { ok: false, message: 'A percentage of the generated weights ("10%") or a positive integer ring size.' };
  }
  return { ok: true, ringSize: ring, message: `Ring of ${count(ring)} entries = ${percent(ring / generated, 2)} of the ${count(generated)} generated weights (${count(total)} parameters in all), each entry reused ×${Number((generated / ring).toPrecision(3))}.` };
}

/**
 * Training throughput (samples/s) of RPG models on the wasm backend of a 2-core CPU, from
 * bench/RESULTS.md (ResNet-32/56 and ResNet-34 scaled from ResNet-20/18 by depth; the ViT from
 * its README runs; VGG and MobileNetV2 scaled from ResNet-18 by their FLOPs at 32×32). Used only
 * when no earlier run of the model says better.
 */
export const REFERENCE_SAMPLES_PER_SEC: Readonly<Record<Architecture, number>> = {
  mlp: 9600,
  lenet5: 3800,
  resnet20: 163,
  resnet32: 100,
  resnet56: 58,
  resnet18: 18.7,
  resnet34: 9,
  vgg11: 12,
  vgg16: 6,
  mobilenetv2: 25,
  vit: 90,
};

/** Training-set sizes of the standard datasets (image folders: unknown until read). */
const TRAIN_COUNT: Partial<Record<DatasetName, number>> = { 'mnist-embedded': 8000, mnist: 60000, 'fashion-mnist': 60000, cifar10: 50000, cifar100: 50000 };

export function isSmallModel(arch: string): boolean {
  return arch === 'mlp' || arch === 'lenet5';
}

export function batchSizeOf(arch: string): number {
  return isSmallModel(arch) ? 64 : 128;
}

export interface EpochChoice {
  readonly epochs: number;
  readonly label: string;
  readonly detail: string;
  readonly etaSeconds?: number;
}

/**
 * The training lengths offered, each with an estimate of its time: a quick look, a usual run,
 * and (for ResNets on CIFAR) the paper's 160 epochs. `measured` is an earlier run's throughput
 * for this model here, which beats the reference figure.
 */
export function epochChoices(arch: Architecture, dataset: DatasetName, options: { trainCount?: number; measured?: { samplesPerSec: number; from: string } } = {}): EpochChoice[] {
  const trainCount = options.trainCount ?? TRAIN_COUNT[dataset];
  const small = isSmallModel(arch);
  const epochs = small ? [5, 10, 20] : dataset.startsWith('cifar') ? [10, 30, 160] : [5, 10, 30];
  const rate = options.measured?.samplesPerSec ?? REFERENCE_SAMPLES_PER_SEC[arch];
  const source = options.measured ? `at ${count(rate)} samples/s, as ${options.measured.from}` : `at ~${count(rate)} samples/s (wasm, 2-core CPU)`;
  return epochs.map((e, i) => {
    const eta = trainCount ? (e * trainCount) / rate : undefined;
    const what = i === 0 ? 'a quick look' : i === 1 ? 'a usual run' : e === 160 ? 'the paper\'s schedule' : 'a longer run';
    return {
      epochs: e,
      label: `${e} epochs`,
      detail: `${what}${eta !== undefined ? ` · ≈ ${duration(eta)} ${source}` : ''}`,
      ...(eta !== undefined ? { etaSeconds: eta } : {}),
    };
  });
}

/**
 * The template with its {{placeholders}} filled. Pure. Every value is JSON-encoded (strings
 * inside the template's quotes too) and comment text is kept on one line, so no choice can
 * change the file's structure.
 */
export function fillTemplate(template: string, c: TemplateChoices): string {
  const small = isSmallModel(c.arch);
  const json = (v: unknown) => JSON.stringify(v);
  const inQuotes = (v: string) => json(v).slice(1, -1);
  const oneLine = (v: string) => v.replace(/[\r\n\u2028\u2029]+/g, ' ').replace(/\*\//g, '* /');
  const model = c.arch === 'mlp' ? `{ "arch": "mlp", "hidden": [128] }` : c.arch === 'resnet18' || c.arch === 'resnet34' ? `{ "arch": ${json(c.arch)}, "smallInput": true }` : `{ "arch": ${json(c.arch)} }`;
  const embedded = c.dataset === 'mnist-embedded';
  // No folder chosen ("decide later", or an old caller): a placeholder the Problems view flags.
  const dataPath = c.dataPath ?? `data/${c.dataset}`;
  const data = embedded ? `{ "dataset": "mnist-embedded" }` : `{ "dataset": ${json(c.dataset)}, "path": ${json(dataPath)}${c.dataset.startsWith('cifar') ? ', "augment": true' : ''} }`;
  const dof = typeof c.dof === 'number' ? json(c.dof) : DOF_INTEGER.test(c.dof) ? json(Number(c.dof)) : json(c.dof.trim());
  const dataComment = embedded
    ? 'Embedded MNIST: works offline, nothing to download.'
    : c.dataPath
      ? `The ${c.dataset} files (a relative "path" is relative to this file).`
      : `Point "path" at the folder holding the ${c.dataset} files (relative to this file): until then the Problems view says what is missing.`;
  const values: Record<string, string> = {
    title: oneLine(`${c.arch} on ${c.dataset} at DoF ${c.dof}`),
    name: inQuotes(c.name),
    model,
    dof,
    dataComment: oneLine(dataComment),
    data,
    batchSize: String(batchSizeOf(c.arch)),
    epochs: String(c.epochs ?? (small ? 10 : 30)),
  };
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

