// Completion: field names (with a value snippet), enum values (architectures, datasets,
// optimizers, sampling modes…), useful DoF values, graph references (node ids, blocks, rpg.free
// entries), and whole-config snippets for an empty file.
// Where the cursor is and what an item replaces — inside quotes, before another property that
// needs a comma, after a half-typed key — is decided by vscode-json-languageservice (VS Code's
// own JSON support) from the emitted JSON Schema; the items' texts (value snippets with the
// default first, DoF sizes of this model) come from the schema declaration here. Schema
// validation stays with the project's validator (schema-diagnostics.ts), the one the trainer
// runs, so the editor never accepts a file the trainer rejects.
import { findNodeAtLocation, getLocation, getNodeValue, Node } from 'jsonc-parser';
import { FREE_KINDS } from '../core/rpg/plan';
import { GRAPH_OPS, INPUT_ID } from '../core/config/graph-schema';
import { getLanguageService, TextDocument, type CompletionItem, type JSONSchema } from 'vscode-json-languageservice';
import { jsonSchemaDocument } from '../core/config/schema';
import type { Analysis } from './analysis';
import type { JsonPath, Span } from './json-tree';
import { enumValues, FieldSchema, fieldMarkdown, schemaAt } from './schema-info';
import { DOF_PERCENT_FIXES } from './semantic-diagnostics';

export type CompletionKind = 'property' | 'value' | 'enum' | 'snippet';

export interface Completion {
  readonly label: string;
  readonly kind: CompletionKind;
  /** Snippet syntax ($1, ${1|a,b|}) when `snippet` is true. */
  readonly insertText: string;
  readonly snippet: boolean;
  /** The text replaced by insertText. */
  readonly span: Span;
  readonly filterText?: string;
  readonly detail?: string;
  readonly documentation?: string;
  readonly sortText?: string;
  readonly preselect?: boolean;
}

const SCHEMA_URI = 'rpg-studio://schemas/rpg.schema.json';
const DOC_URI = 'rpg-studio://config.rpg.json';
const jsonService = getLanguageService({});
jsonService.configure({ validate: false, allowComments: true, schemas: [{ uri: SCHEMA_URI, fileMatch: ['*.rpg.json'], schema: jsonSchemaDocument() as JSONSchema }] });

export async function completeAt(analysis: Pick<Analysis, 'text' | 'root' | 'resolved' | 'fallback'>, offset: number): Promise<Completion[]> {
  const { text } = analysis;
  if (text.trim() === '') return newConfigSnippets({ offset: 0, length: text.length });
  const location = getLocation(text, offset);
  const doc = TextDocument.create(DOC_URI, 'jsonc', 1, text);
  const list = await jsonService.doComplete(doc, doc.positionAt(offset), jsonService.parseJSONDocument(doc));
  const items = list?.items ?? [];
  const spanOf = (item: CompletionItem): Span | undefined => {
    const edit = item.textEdit;
    if (!edit) return undefined;
    const range = 'range' in edit ? edit.range : edit.replace;
    const start = doc.offsetAt(range.start);
    const end = doc.offsetAt(range.end);
    const literal = text.slice(start, end);
    // An unterminated string ("sch| } }) runs to the end of the line for the JSON scanner:
    // replace only the quote and the word under the cursor, never the braces after it.
    if (literal.startsWith('"') && (literal.length === 1 || !/[^\\]"$/.test(literal))) {
      let stop = offset;
      while (stop < text.length && /[\w$%.\-]/.test(text[stop]!)) stop++;
      return { offset: start, length: stop - start };
    }
    return { offset: start, length: end - start };
  };
  const propertyItems = items.filter((i) => i.kind === 10 /* Property */);
  if (location.isAtPropertyKey || propertyItems.length) {
    return propertyCompletions(analysis.root, location.isAtPropertyKey ? location.path.slice(0, -1) : location.path, propertyItems, spanOf, replacementSpan(text, offset, location.previousNode, location.isAtPropertyKey));
  }
  // Values: the range the JSON service would replace (the literal under the cursor, quotes
  // included), else the word typed so far.
  const first = items.map(spanOf).find((s) => s !== undefined);
  const span = first ?? replacementSpan(text, offset, location.previousNode, false);
  // Graph references (node ids, blocks, rpg.free entries) first; the schema's values after.
  const graph = graphCompletions(analysis, location.path, span);
  const offered = new Set(graph.map((c) => c.insertText));
  return [...graph, ...valueCompletions(analysis, location.path, span).filter((c) => !offered.has(c.insertText))];
}

type Json = Record<string, unknown>;

/** The `nodes` list a graph path is in (the graph's or a block's), from the raw document. */
function scopeNodes(root: Node, path: JsonPath): { nodes: Json[]; inBlock: boolean } | undefined {
  const at = path.indexOf('nodes');
  if (at < 0) return undefined;
  const list = findNodeAtLocation(root, path.slice(0, at + 1));
  const value: unknown = list ? getNodeValue(list) : undefined;
  return Array.isArray(value) ? { nodes: value.filter((n): n is Json => !!n && typeof n === 'object'), inBlock: path[at - 2] === 'blocks' } : undefined;
}

/**
 * Graph references: a node's `inputs` offer the ids of its own list (and "input"), `block` the
 * block names, graph.output the graph's ids, rpg.free the kinds, "stem", "head" and the layers.
 * Read from the raw document, so they work while the config is still invalid.
 */
function graphCompletions(analysis: Pick<Analysis, 'root' | 'resolved' | 'fallback'>, path: JsonPath, span: Span): Completion[] {
  const root = analysis.root;
  if (!root) return [];
  const item = (value: string, detail: string, documentation?: string, i = 0): Completion => ({
    label: JSON.stringify(value), kind: 'value', insertText: JSON.stringify(value), snippet: false, span, filterText: JSON.stringify(value), detail,
    ...(documentation ? { documentation } : {}), sortText: `0${String(i).padStart(4, '0')}`,
  });
  const graphPath = path[0] === 'model' && path[1] === 'graph';
  const last = path[path.length - 1];
  const inputsAt = path.indexOf('inputs');
  if (graphPath && inputsAt > 0 && inputsAt === path.length - 2 && typeof last === 'number') {
    const scope = scopeNodes(root, path);
    if (!scope) return [];
    const self = path[inputsAt - 1];
    const others = scope.nodes.filter((_, i) => i !== self);
    return [
      item(INPUT_ID, scope.inBlock ? "the block's input" : 'the model input (the dataset image)'),
      ...others.filter((n) => typeof n.id === 'string').map((n, i) => item(n.id as string, `${String(n.op)} node`, GRAPH_OPS[n.op as keyof typeof GRAPH_OPS]?.description, i + 1)),
    ];
  }
  if (graphPath && last === 'block') {
    const blocks = findNodeAtLocation(root, ['model', 'graph', 'blocks']);
    const value: unknown = blocks ? getNodeValue(blocks) : undefined;
    return value && typeof value === 'object' ? Object.keys(value).map((b, i) => item(b, 'block', (value as Record<string, Json>)[b]?.description as string | undefined, i)) : [];
  }
  if (graphPath && path.length === 3 && last === 'output') {
    const scope = scopeNodes(root, ['model', 'graph', 'nodes', 0]);
    return (scope?.nodes ?? []).filter((n) => typeof n.id === 'string').map((n, i) => item(n.id as string, `${String(n.op)} node`, undefined, i));
  }
  if (path[0] === 'rpg' && path[1] === 'free' && typeof last === 'number') {
    const spec = (analysis.resolved ?? analysis.fallback)?.spec;
    const layers = [...new Set((spec?.params ?? []).filter((p) => ['conv', 'depthwise', 'dense', 'attention', 'embedding'].includes(p.kind)).map((p) => p.layer))];
    return [
      ...FREE_KINDS.map((k, i) => item(k, k === 'stem' ? 'the first weight layer' : k === 'head' ? 'the last weight layer' : 'every kernel of this kind', undefined, i)),
      ...layers.map((l, i) => item(l, 'layer', undefined, FREE_KINDS.length + i)),
    ];
  }
  return [];
}

/**
 * What a completion replaces: the key or literal under the cursor (quotes included), or the
 * bare word typed so far, or nothing.
 */
function replacementSpan(text: string, offset: number, previous: Node | undefined, atKey: boolean): Span {
  if (previous && previous.type !== 'property' && offset > previous.offset && offset <= previous.offset + previous.length) {
    return { offset: previous.offset, length: previous.length };
  }
  if (atKey && previous?.type === 'property' && previous.children?.[0]) {
    const key = previous.children[0];
    if (offset > key.offset && offset <= key.offset + key.length) return { offset: key.offset, length: key.length };
  }
  let start = offset;
  while (start > 0 && /[\w$"%.\-]/.test(text[start - 1]!)) start--;
  return { offset: start, length: offset - start };
}

/**
 * Field names of the object at `objectPath`. The JSON service decides the range each replaces
 * and whether a comma must follow (another property after the cursor); the schema here gives
 * the value snippet, documentation and order. Without the service's items (it found no
 * object there), the fields are offered over `fallback`.
 */
function propertyCompletions(root: Node | undefined, objectPath: JsonPath, serviceItems: readonly CompletionItem[], spanOf: (i: CompletionItem) => Span | undefined, fallback: Span): Completion[] {
  const schema = schemaAt(objectPath);
  if (!schema?.properties) return [];
  const objectNode = root ? (objectPath.length ? findNodeAtLocation(root, objectPath) : root) : undefined;
  const present = new Set((objectNode?.children ?? []).map((p) => p.children?.[0]?.value as string));
  const byKey = new Map(serviceItems.map((i) => [i.label, i]));
  const required = new Set(schema.required ?? []);
  const keys = Object.keys(schema.properties).filter((k) => k !== '$schema' || objectPath.length === 0);
  const offered = serviceItems.length ? keys.filter((k) => byKey.has(k)) : keys.filter((k) => !present.has(k));
  return offered.map((key) => {
    const field = schema.properties![key]!;
    const item = byKey.get(key);
    const edit = item?.textEdit?.newText ?? '';
    const comma = /,\s*$/.test(edit) ? ',' : '';
    return {
      label: key,
      kind: 'property',
      insertText: `"${key}": ${valueSnippet(field)}${comma}`,
      snippet: true,
      span: (item && spanOf(item)) ?? fallback,
      filterText: item?.filterText ?? `"${key}"`,
      detail: field.type ?? (field.anyOf ? field.anyOf.map((a) => a.type).join(' | ') : undefined),
      documentation: fieldMarkdown([...objectPath, key], field),
      sortText: `${required.has(key) ? 0 : 1}${String(keys.indexOf(key)).padStart(3, '0')}`,
    } satisfies Completion;
  });
}

/** A value placeholder for a field: default first, enum choices, objects opened on a new line. */
export function valueSnippet(field: FieldSchema): string {
  if (field.type === 'object') return '{\n\t$1\n}';
  const choices = enumValues(field).map((e) => e.value);
  if (choices.length) {
    const ordered = typeof field.default === 'string' ? [field.default, ...choices.filter((c) => c !== field.default)] : choices;
    return `"\${1|${ordered.join(',')}|}"`;
  }
  if (field.type === 'boolean') return field.default === true ? '${1|true,false|}' : '${1|false,true|}';
  const sample = field.default ?? field.examples?.[0];
  if (field.type === 'array') return `[\${1:${escapeSnippet(sample !== undefined ? JSON.stringify(sample).slice(1, -1) : '')}}]`;
  if (typeof sample === 'string') return `"\${1:${escapeSnippet(sample)}}"`;
  if (sample !== undefined) return `\${1:${escapeSnippet(JSON.stringify(sample))}}`;
  return field.type === 'string' ? '"$1"' : '$1';
}

function escapeSnippet(s: string): string {
  return s.replace(/[$}\\]/g, (c) => `\\${c}`);
}

function valueCompletions(analysis: Pick<Analysis, 'resolved' | 'fallback'>, path: JsonPath, span: Span): Completion[] {
  const schema = schemaAt(path);
  if (!schema) return [];
  const out: Completion[] = [];
  const seen = new Set<string>();
  const add = (value: unknown, kind: CompletionKind, detail?: string, documentation?: string): void => {
    const insertText = JSON.stringify(value);
    if (seen.has(insertText)) return;
    seen.add(insertText);
    out.push({
      label: insertText, kind, insertText, snippet: false, span, filterText: insertText,
      ...(detail ? { detail } : {}), ...(documentation ? { documentation } : {}),
      sortText: String(out.length).padStart(3, '0'), preselect: JSON.stringify(schema.default) === insertText,
    });
  };
  for (const e of enumValues(schema)) add(e.value, 'enum', e.value === schema.default ? 'default' : undefined, e.description);
  if (schema.type === 'boolean') [true, false].forEach((b) => add(b, 'value', b === schema.default ? 'default' : undefined));
  if (path.join('.') === 'rpg.dof') {
    const n = (analysis.resolved ?? analysis.fallback)?.plan?.generatedCount;
    for (const p of DOF_PERCENT_FIXES) add(p, 'value', 'percentage of the generated parameters');
    if (n !== undefined) add(n, 'value', 'the generated parameter count (largest ring)');
  }
  if (schema.default !== undefined && schema.type !== 'object') add(schema.default, 'value', 'default');
  for (const e of schema.examples ?? []) add(e, 'value', 'example');
  return out;
}

/** Whole configs for an empty document. */
export function newConfigSnippets(span: Span): Completion[] {
  const config = (arch: string, dataset: string, extra: string, dof: string, optimizer: string, lr: string, epochs: number): string =>
    [
      '{',
      '\t"$schema": "${1:https://rpg-studio.invalid/schemas/rpg.schema.json}",',
      `\t"name": "\${2:${arch}-${dataset}}",`,
      `\t"model": { "arch": "\${3:${arch}}" },`,
      `\t"rpg": { "dof": "\${4:${dof}}", "sampling": "\${5|ring,shuffled|}" },`,
      `\t"data": { "dataset": "\${6:${dataset}}"${extra} },`,
      `\t"train": { "optimizer": "${optimizer}", "lr": \${7:${lr}}, "batchSize": \${8:64}, "epochs": \${9:${epochs}} }`,
      '}',
      '',
    ].join('\n');
  const snippet = (label: string, detail: string, insertText: string, sortText: string): Completion => ({ label, kind: 'snippet', insertText, snippet: true, span, detail, sortText });
  return [
    snippet('New RPG experiment: LeNet-5 on embedded MNIST', 'Runs offline, no dataset files needed', config('lenet5', 'mnist-embedded', '', '10%', 'adam', '0.001', 10), '0'),
    snippet('New RPG experiment: ResNet-20 on CIFAR-10', 'Needs the CIFAR-10 binary files', config('resnet20', 'cifar10', ', "path": "${10:data/cifar10}", "augment": true', '10%', 'sgd', '0.1', 160), '1'),
    snippet('New RPG experiment: MLP', 'Fully connected net on embedded MNIST', config('mlp', 'mnist-embedded', '', '1%', 'adam', '0.001', 10), '2'),
  ];
}
