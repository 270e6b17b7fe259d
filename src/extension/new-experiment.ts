// "RPG: New Experiment": a short quick-input wizard (architecture, dataset, DoF, name) that
// fills templates/experiment.rpg.json and opens the new config. Every answer can also be
// passed as an argument, which skips its step (tests and the walkthrough use this).
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Architecture, ARCHITECTURES, DATASETS as SCHEMA_DATASETS, DOF_PERCENT_PATTERN } from '../core/config/schema';

type DatasetName = (typeof SCHEMA_DATASETS)[number];

export interface ExperimentChoices {
  readonly arch: string;
  readonly dataset: string;
  readonly dof: string | number;
  readonly name: string;
  /** Folder to create `<name>.rpg.json` in; default the first workspace folder. */
  readonly folder?: string;
}

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
  return undefined;
}

/** Runs the wizard for whatever `given` leaves out; resolves with the created file. */
export async function newExperiment(extensionUri: vscode.Uri, given: Partial<ExperimentChoices> = {}): Promise<vscode.Uri | undefined> {
  // Arguments skip their wizard step, so they get the checks the step would have made.
  const invalid = invalidChoice(given);
  if (invalid) {
    void vscode.window.showErrorMessage(`New Experiment: ${invalid}.`);
    return undefined;
  }
  const arch = given.arch ?? (await pick('Architecture', 1, ARCHS));
  if (!arch) return undefined;
  const small = arch === 'mlp' || arch === 'lenet5';
  const datasets = small ? DATASETS : [...DATASETS.filter((d) => d.id.startsWith('cifar') || d.id === 'image-folder'), ...DATASETS.filter((d) => !(d.id.startsWith('cifar') || d.id === 'image-folder'))];
  const dataset = given.dataset ?? (await pick('Dataset', 2, datasets));
  if (!dataset) return undefined;
  const dof = given.dof ?? (await askDof());
  if (dof === undefined) return undefined;
  const folder = given.folder ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!folder) {
    void vscode.window.showErrorMessage('Open a folder first: a new experiment is created in the workspace folder.');
    return undefined;
  }
  const suggested = `${arch}-${dataset}-${String(dof).replace('%', 'pct')}`.replace(/[^A-Za-z0-9._-]+/g, '-');
  const name = given.name ?? (await askName(suggested, folder));
  if (!name) return undefined;

  const file = path.join(folder, `${name}.rpg.json`);
  if (existsSync(file)) {
    void vscode.window.showErrorMessage(`${path.basename(file)} already exists.`);
    return undefined;
  }
  const template = await fs.readFile(vscode.Uri.joinPath(extensionUri, 'templates', 'experiment.rpg.json').fsPath, 'utf8');
  await fs.writeFile(file, fillTemplate(template, { arch, dataset, dof, name }));
  const uri = vscode.Uri.file(file);
  await vscode.window.showTextDocument(uri);
  return uri;
}

/**
 * The template with its {{placeholders}} filled. Pure. Every value is JSON-encoded (strings
 * inside the template's quotes too) and comment text is kept on one line, so no choice can
 * change the file's structure.
 */
export function fillTemplate(template: string, c: Omit<ExperimentChoices, 'folder'>): string {
  const small = c.arch === 'mlp' || c.arch === 'lenet5';
  const json = (v: unknown) => JSON.stringify(v);
  const inQuotes = (v: string) => json(v).slice(1, -1);
  const oneLine = (v: string) => v.replace(/[\r\n\u2028\u2029]+/g, ' ').replace(/\*\//g, '* /');
  const model = c.arch === 'mlp' ? `{ "arch": "mlp", "hidden": [128] }` : c.arch === 'resnet18' || c.arch === 'resnet34' ? `{ "arch": ${json(c.arch)}, "smallInput": true }` : `{ "arch": ${json(c.arch)} }`;
  const data =
    c.dataset === 'mnist-embedded'
      ? `{ "dataset": "mnist-embedded" }`
      : `{ "dataset": ${json(c.dataset)}, "path": ${json(`data/${c.dataset}`)}${c.dataset.startsWith('cifar') ? ', "augment": true' : ''} }`;
  const dof = typeof c.dof === 'number' ? json(c.dof) : DOF_INTEGER.test(c.dof) ? json(Number(c.dof)) : json(c.dof.trim());
  const values: Record<string, string> = {
    title: oneLine(`${c.arch} on ${c.dataset} at DoF ${c.dof}`),
    name: inQuotes(c.name),
    model,
    dof,
    dataComment: oneLine(c.dataset === 'mnist-embedded' ? 'Embedded MNIST: works offline, nothing to download.' : `Point "path" at the folder holding the ${c.dataset} files (relative to this file).`),
    data,
    batchSize: small ? '64' : '128',
    epochs: small ? '5' : '160',
  };
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

async function pick(title: string, step: number, options: readonly Option[]): Promise<string | undefined> {
  const item = await vscode.window.showQuickPick(
    options.map((o) => ({ label: o.label, detail: o.detail, id: o.id })),
    { title: `New RPG Experiment (${step}/4): ${title}`, matchOnDetail: true, ignoreFocusOut: true },
  );
  return item?.id;
}

async function askDof(): Promise<string | number | undefined> {
  const answer = await vscode.window.showInputBox({
    title: 'New RPG Experiment (3/4): Degrees of freedom',
    prompt: 'Ring size, as a percentage of the generated weights ("10%") or an integer entry count',
    value: '10%',
    ignoreFocusOut: true,
    validateInput: (v) => (DOF_PATTERN.test(v) || DOF_INTEGER.test(v) ? undefined : 'Enter a percentage like 10% or a positive integer'),
  });
  if (answer === undefined) return undefined;
  return DOF_PATTERN.test(answer) ? answer.trim() : Number(answer);
}

async function askName(suggested: string, folder: string): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: 'New RPG Experiment (4/4): Name',
    prompt: `Creates <name>.rpg.json in ${folder}`,
    value: suggested,
    ignoreFocusOut: true,
    validateInput: (v) => {
      if (!NAME_PATTERN.test(v) || /^\.+$/.test(v)) return 'Use letters, digits, ".", "_" and "-"';
      return existsSync(path.join(folder, `${v}.rpg.json`)) ? `${v}.rpg.json already exists` : undefined;
    },
  });
}
