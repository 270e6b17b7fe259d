// "RPG: New Experiment": a short quick-input wizard (architecture, dataset, where its files are,
// DoF, epochs, name) that fills templates/experiment.rpg.json and opens the new config. It checks
// as the user answers: the dataset folders found on this machine are offered (or Browse…), the
// DoF answer shows the ring it makes for this model (and refuses one larger than the model), and
// each training length comes with an estimate of its time. Every answer can also be passed as an
// argument, which skips its step (tests and the walkthrough use this).
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Architecture, ARCHITECTURES, DatasetName, DATASETS as SCHEMA_DATASETS, DOF_PERCENT_PATTERN } from '../core/config/schema';
import { describeDataset } from '../core/data';
import { detectDatasetFolders, DetectedFolder } from '../core/data/locate';
import { dofFeedback, epochChoices, fillTemplate, isSmallModel } from './wizard-facts';

export { fillTemplate } from './wizard-facts';

export interface ExperimentChoices {
  readonly arch: string;
  readonly dataset: string;
  readonly dof: string | number;
  readonly name: string;
  /** Folder to create `<name>.rpg.json` in; default the first workspace folder. */
  readonly folder?: string;
  /** Where the dataset's files are (absolute, or relative to the config); null: decide later. */
  readonly dataPath?: string | null;
  readonly epochs?: number;
}

/** An earlier run's training speed for an architecture, to estimate a new run's time. */
export type MeasuredRate = (arch: string) => { samplesPerSec: number; from: string } | undefined;

interface Option {
  readonly id: string;
  readonly label: string;
  readonly detail: string;
}

// Keyed by the schema's enums: a new architecture or dataset does not compile until it is here.
const ARCH_INFO: Record<Architecture, Omit<Option, 'id'>> = {
  mlp: { label: 'MLP', detail: 'Fully connected net: input → hidden layers → classes. Trains in seconds.' },
  lenet5: { label: 'LeNet-5', detail: 'conv 6@5×5 → pool → conv 16@5×5 → pool → 120 → 84 → classes (44k weights).' },
  resnet20: { label: 'ResNet-20', detail: 'CIFAR ResNet, 0.27M weights: the paper\'s small benchmark.' },
  resnet32: { label: 'ResNet-32', detail: 'CIFAR ResNet, 3 × 5 blocks.' },
  resnet56: { label: 'ResNet-56', detail: 'CIFAR ResNet, 3 × 9 blocks.' },
  resnet18: { label: 'ResNet-18', detail: 'ImageNet-style ResNet (use smallInput for 32×32 images).' },
  resnet34: { label: 'ResNet-34', detail: 'ImageNet-style ResNet, 21.8M weights (use smallInput for 32×32 images).' },
  vgg11: { label: 'VGG-11', detail: 'VGG-11 with BatchNorm, 132.9M weights at 224×224 (smallInput: the CIFAR head, 9.2M).' },
  vgg16: { label: 'VGG-16', detail: 'VGG-16 with BatchNorm, 138.4M weights at 224×224 (smallInput: the CIFAR head).' },
  mobilenetv2: { label: 'MobileNetV2', detail: 'Inverted residuals with depthwise convolutions, 3.5M weights at 1000 classes.' },
  vit: { label: 'Vision transformer', detail: 'A small ViT for 28×28 and 32×32 images: patch embedding, 4 pre-norm blocks, 0.14M weights.' },
};

const DATASET_INFO: Record<DatasetName, Omit<Option, 'id'>> = {
  'mnist-embedded': { label: 'MNIST (embedded)', detail: '10,000 real digits shipped with the extension: no download, no path.' },
  mnist: { label: 'MNIST', detail: 'IDX files in a folder you point `data.path` at.' },
  'fashion-mnist': { label: 'Fashion-MNIST', detail: 'IDX files in a folder you point `data.path` at.' },
  cifar10: { label: 'CIFAR-10', detail: 'Binary batches in a folder you point `data.path` at.' },
  cifar100: { label: 'CIFAR-100', detail: 'Binary files in a folder you point `data.path` at.' },
  'image-folder': { label: 'Image folder', detail: 'One sub-folder of PNG/JPEG images per class.' },
};

const ARCHS: readonly Option[] = ARCHITECTURES.map((id) => ({ id, ...ARCH_INFO[id] }));
const DATASETS: readonly Option[] = SCHEMA_DATASETS.map((id) => ({ id, ...DATASET_INFO[id] }));

const DOF_PATTERN = new RegExp(DOF_PERCENT_PATTERN);
const DOF_INTEGER = /^\s*[1-9]\d*\s*$/;
const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

/** Why a choice given as a command argument is not acceptable, or undefined. Pure. */
export function invalidChoice(given: Partial<ExperimentChoices>): string | undefined {
  if (given.arch !== undefined && !(ARCHITECTURES as readonly unknown[]).includes(given.arch)) return `unknown architecture ${JSON.stringify(given.arch)} (one of ${ARCHITECTURES.join(', ')})`;
  if (given.dataset !== undefined && !(SCHEMA_DATASETS as readonly unknown[]).includes(given.dataset)) return `unknown dataset ${JSON.stringify(given.dataset)} (one of ${SCHEMA_DATASETS.join(', ')})`;
  if (given.dof !== undefined) {
    const ok = typeof given.dof === 'number' ? Number.isInteger(given.dof) && given.dof >= 1 : typeof given.dof === 'string' && (DOF_PATTERN.test(given.dof) || DOF_INTEGER.test(given.dof));
    if (!ok) return `invalid DoF ${JSON.stringify(given.dof)}: a percentage like "10%" or a positive integer`;
  }
  if (given.name !== undefined && (typeof given.name !== 'string' || !NAME_PATTERN.test(given.name) || /^\.+$/.test(given.name))) return `invalid name ${JSON.stringify(given.name)}: use letters, digits, ".", "_" and "-"`;
  if (given.folder !== undefined && typeof given.folder !== 'string') return 'invalid folder';
  if (given.epochs !== undefined && !(Number.isInteger(given.epochs) && given.epochs >= 1 && given.epochs <= 100000)) return `invalid epochs ${JSON.stringify(given.epochs)}: an integer from 1`;
  if (given.dataPath !== undefined && given.dataPath !== null && typeof given.dataPath !== 'string') return 'invalid dataPath';
  // The DoF must fit this model: "150%" or a ring larger than the generated weights is refused.
  if (given.dof !== undefined && given.arch !== undefined && given.dataset !== undefined) {
    const feedback = dofFeedback(given.arch as Architecture, given.dataset as DatasetName, String(given.dof));
    if (!feedback.ok) return `invalid DoF ${JSON.stringify(given.dof)}: ${feedback.message}`;
  }
  return undefined;
}

/** Runs the wizard for whatever `given` leaves out; resolves with the created file. */
export async function newExperiment(extensionUri: vscode.Uri, given: Partial<ExperimentChoices> = {}, measured: MeasuredRate = () => undefined): Promise<vscode.Uri | undefined> {
  // Arguments skip their wizard step, so they get the checks the step would have made.
  const invalid = invalidChoice(given);
  if (invalid) {
    void vscode.window.showErrorMessage(`New Experiment: ${invalid}.`);
    return undefined;
  }
  const folder = given.folder ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!folder) {
    void vscode.window.showErrorMessage('Open a folder first: a new experiment is created in the workspace folder.');
    return undefined;
  }
  const arch = (given.arch ?? (await pick('Architecture', 1, ARCHS))) as Architecture | undefined;
  if (!arch) return undefined;
  const small = isSmallModel(arch);
  const found = (d: DatasetName) => detectDatasetFolders(d, folder, describeDataset);
  const datasets = (small ? DATASETS : [...DATASETS.filter((d) => d.id.startsWith('cifar') || d.id === 'image-folder'), ...DATASETS.filter((d) => !(d.id.startsWith('cifar') || d.id === 'image-folder'))]).map((d) => {
    if (d.id === 'mnist-embedded' || d.id === 'image-folder') return d;
    const here = found(d.id as DatasetName)[0];
    return { ...d, detail: here ? `${d.detail} Found on this machine: ${here.absolute}.` : `${d.detail} Not found on this machine: you pick its folder next.` };
  });
  const dataset = (given.dataset ?? (await pick('Dataset', 2, datasets))) as DatasetName | undefined;
  if (!dataset) return undefined;
  // Where its files are: a folder found here, one the user picks, or (knowingly) later.
  // A call that names the experiment (tests, the walkthrough) asks nothing it left out: the
  // folder found here (else "decide later") and the usual training length.
  const quiet = given.name !== undefined;
  let dataPath: string | null | undefined = given.dataPath;
  let trainCount: number | undefined;
  if (dataset !== 'mnist-embedded' && dataPath === undefined) {
    const detected = found(dataset);
    dataPath = given.dataset !== undefined && detected[0] ? detected[0].path : quiet ? null : await askDataFolder(dataset, folder, detected);
    if (dataPath === undefined) return undefined;
  }
  if (dataPath) {
    try {
      trainCount = describeDataset({ dataset, path: dataPath }, folder).trainCount;
    } catch {
      trainCount = undefined;
    }
  }
  const dof = given.dof ?? (await askDof(arch, dataset));
  if (dof === undefined) return undefined;
  const epochs = given.epochs ?? (quiet ? epochChoices(arch, dataset)[1]!.epochs : await askEpochs(arch, dataset, trainCount, measured(arch)));
  if (epochs === undefined) return undefined;
  const suggested = `${arch}-${dataset}-${String(dof).replace('%', 'pct')}`.replace(/[^A-Za-z0-9._-]+/g, '-');
  const name = given.name ?? (await askName(suggested, folder));
  if (!name) return undefined;

  const file = path.join(folder, `${name}.rpg.json`);
  if (existsSync(file)) {
    void vscode.window.showErrorMessage(`${path.basename(file)} already exists.`);
    return undefined;
  }
  const template = await fs.readFile(vscode.Uri.joinPath(extensionUri, 'templates', 'experiment.rpg.json').fsPath, 'utf8');
  await fs.writeFile(file, fillTemplate(template, { arch, dataset, dof, name, dataPath: dataPath ?? null, epochs }));
  const uri = vscode.Uri.file(file);
  await vscode.window.showTextDocument(uri);
  return uri;
}

async function pick(title: string, step: number, options: readonly Option[]): Promise<string | undefined> {
  const item = await vscode.window.showQuickPick(
    options.map((o) => ({ label: o.label, detail: o.detail, id: o.id })),
    { title: `New RPG Experiment (${step}/5): ${title}`, matchOnDetail: true, ignoreFocusOut: true },
  );
  return item?.id;
}

/** Where the dataset's files are: a folder found here, Browse… (checked), or "decide later" (null). */
async function askDataFolder(dataset: DatasetName, folder: string, detected: readonly DetectedFolder[]): Promise<string | null | undefined> {
  type Item = vscode.QuickPickItem & { readonly value: string | null | 'browse' };
  const items: Item[] = [
    ...detected.map((d) => ({ label: d.path, description: `found: ${d.info.trainCount?.toLocaleString('en-US') ?? '?'} training images`, detail: d.absolute, value: d.path })),
    { label: '$(folder-opened) Browse…', description: `the folder holding the ${dataset} files`, value: 'browse' as const },
    { label: 'Decide later', description: `writes "data/${dataset}" as a placeholder; the config shows an error until it is set`, value: null },
  ];
  for (;;) {
    const picked = await vscode.window.showQuickPick(items, { title: `New RPG Experiment (2/5): Where are the ${dataset} files?`, ignoreFocusOut: true, matchOnDetail: true });
    if (!picked) return undefined;
    if (picked.value !== 'browse') return picked.value;
    const chosen = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: `Folder holding the ${dataset} files`, openLabel: 'Use this folder', defaultUri: vscode.Uri.file(folder) }))?.[0];
    if (!chosen) continue;
    try {
      describeDataset({ dataset, path: chosen.fsPath }, folder);
    } catch (err) {
      void vscode.window.showErrorMessage(`${chosen.fsPath} does not hold ${dataset}: ${(err as Error).message}`);
      continue;
    }
    const rel = path.relative(folder, chosen.fsPath);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : chosen.fsPath;
  }
}

/** The DoF, checked against this model as it is typed: the ring it makes, or why it cannot be. */
async function askDof(arch: Architecture, dataset: DatasetName): Promise<string | number | undefined> {
  const answer = await vscode.window.showInputBox({
    title: 'New RPG Experiment (3/5): Degrees of freedom',
    prompt: 'Ring size, as a percentage of the generated weights ("10%") or an integer entry count',
    value: '10%',
    ignoreFocusOut: true,
    validateInput: (v) => {
      const f = dofFeedback(arch, dataset, v);
      return f.ok ? { message: f.message, severity: vscode.InputBoxValidationSeverity.Info } : { message: f.message, severity: vscode.InputBoxValidationSeverity.Error };
    },
  });
  if (answer === undefined) return undefined;
  return DOF_PATTERN.test(answer) ? answer.trim() : Number(answer);
}

/** How long to train, each choice with an estimate of its time. */
async function askEpochs(arch: Architecture, dataset: DatasetName, trainCount: number | undefined, measured: ReturnType<MeasuredRate>): Promise<number | undefined> {
  const choices = epochChoices(arch, dataset, { ...(trainCount !== undefined ? { trainCount } : {}), ...(measured ? { measured } : {}) });
  const picked = await vscode.window.showQuickPick(
    choices.map((c, i) => ({ label: c.label, detail: c.detail, picked: i === 1, epochs: c.epochs })),
    { title: 'New RPG Experiment (4/5): How long to train', placeHolder: 'The estimate is updated while the run trains (status bar and notification)', ignoreFocusOut: true },
  );
  return picked?.epochs;
}

async function askName(suggested: string, folder: string): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: 'New RPG Experiment (5/5): Name',
    prompt: `Creates <name>.rpg.json in ${folder}`,
    value: suggested,
    ignoreFocusOut: true,
    validateInput: (v) => {
      if (!NAME_PATTERN.test(v) || /^\.+$/.test(v)) return 'Use letters, digits, ".", "_" and "-"';
      return existsSync(path.join(folder, `${v}.rpg.json`)) ? `${v}.rpg.json already exists` : undefined;
    },
  });
}
