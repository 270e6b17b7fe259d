// Hover: every field shows its schema description; `model`, `arch` and `dof` also show what the
// choice means for this model — parameter counts, DoF, compression, reuse and a per-layer table
// taken from the resolved plan.
import { findNodeAtOffset, getNodePath, Node } from 'jsonc-parser';
import type { ResolvedExperiment } from '../core/experiment/resolve';
import type { Analysis } from './analysis';
import { count, percent, ratio } from '../core/format/numbers';
import type { Span } from './json-tree';
import { enumValues, fieldMarkdown, schemaAt } from './schema-info';
import { compileGraph } from '../core/models/graph';
import { GRAPH_OPS, GraphOpName } from '../core/config/graph-schema';
import { isKernelKind } from '../core/models/spec';
import { nominalDatasetInfo } from '../core/data/standard-shapes';

export interface HoverResult {
  readonly markdown: string;
  readonly span: Span;
}

const SUMMARY_PATHS = ['model', 'model.arch', 'model.graph', 'model.import', 'rpg', 'rpg.dof', 'rpg.free'];
/** Per-layer rows shown before "… n more" (ResNet-34 has 37 weight layers). */
export const MAX_LAYER_ROWS = 40;

export function hoverAt(analysis: Analysis, offset: number): HoverResult | undefined {
  if (!analysis.root) return undefined;
  let node: Node | undefined = findNodeAtOffset(analysis.root, offset, true);
  if (!node) return undefined;
  if (node.type === 'property') node = node.children?.[0];
  if (!node) return undefined;
  const path = getNodePath(node);
  if (path.length === 0) return undefined;
  const isKey = node.parent?.type === 'property' && node.parent.children?.[0] === node;
  const schema = schemaAt(path);
  if (!schema) return undefined;

  const parts = [fieldMarkdown(path, schema)];
  if (!isKey && typeof node.value === 'string') {
    const meaning = enumValues(schema).find((e) => e.value === node!.value)?.description;
    if (meaning) parts.push(`\`${node.value}\`: ${meaning}`);
  }
  if (SUMMARY_PATHS.includes(path.join('.'))) {
    const summary = summaryMarkdown(analysis);
    if (summary) parts.push('---', summary);
  }
  const graphNode = graphNodeMarkdown(analysis, path);
  if (graphNode) parts.push('---', graphNode);
  return { markdown: parts.join('\n\n'), span: { offset: node.offset, length: node.length } };
}

/** Most repeats of a block node listed in a hover before "… n more". */
const MAX_INSTANCES = 6;

/**
 * A graph node's hover: what its op does, the shape it outputs (each repeat's, for a node of a
 * block) and its parameters with their source (ring or free), from a compile of the graph for
 * the dataset's input.
 */
export function graphNodeMarkdown(analysis: Pick<Analysis, 'config' | 'resolved' | 'fallback' | 'dataset'>, path: (string | number)[]): string | undefined {
  const config = analysis.config;
  const at = path.indexOf('nodes');
  if (!config?.model.graph || path[0] !== 'model' || path[1] !== 'graph' || at < 0 || typeof path[at + 1] !== 'number') return undefined;
  const nodePath = path.slice(0, at + 2);
  const e = analysis.resolved ?? analysis.fallback;
  const input = e ? { height: e.spec.inputShape[0], width: e.spec.inputShape[1], channels: e.spec.inputShape[2], numClasses: e.spec.numClasses } : { ...(analysis.dataset ?? nominalDatasetInfo(config.data, config.model.numClasses)), numClasses: config.model.numClasses ?? (analysis.dataset ?? nominalDatasetInfo(config.data)).numClasses };
  const r = compileGraph(config.model.graph, input, { arch: 'graph', basePath: ['model', 'graph'] });
  const ids = r.instances.get(nodePath.join('.'));
  if (!ids?.length) return undefined;
  const first = ids[0]!;
  const op = (config.model.graph.blocks && path[2] === 'blocks' ? config.model.graph.blocks[String(path[3])]?.nodes : config.model.graph.nodes)?.[path[at + 1] as number]?.op as GraphOpName | undefined;
  const lines = [`**${op ?? 'node'}** — ${op ? GRAPH_OPS[op].description : ''}`, ''];
  const shown = ids.slice(0, MAX_INSTANCES);
  for (const id of shown) {
    const shape = r.shapes.get(id);
    lines.push(`- \`${id}\` → ${shape ? shape.join('×') : 'not built (see the problems)'}`);
  }
  if (ids.length > MAX_INSTANCES) lines.push(`- … ${ids.length - MAX_INSTANCES} more`);
  const spec = e?.spec;
  const plan = e?.plan;
  const generated = new Set(plan?.layers.map((l) => l.param.name) ?? []);
  const params = spec?.params.filter((p) => p.layer === first) ?? [];
  if (params.length) {
    lines.push('', '| Parameter | Shape | Params | Source |', '|---|---|---:|---|');
    for (const p of params) {
      const source = generated.has(p.name) ? 'ring' : isKernelKind(p.kind) && plan ? `free (${plan.freeReasons[p.name] ?? 'free'})` : 'free';
      lines.push(`| ${p.name} | ${p.shape.join('×')} | ${count(p.size)} | ${source} |`);
    }
    if (ids.length > 1) lines.push('', `_Each of the ${ids.length} repeats has its own parameters._`);
  }
  return lines.join('\n');
}

/** The model's numbers in markdown, or undefined when the config does not resolve. */
export function summaryMarkdown(analysis: Pick<Analysis, 'resolved' | 'fallback'>): string | undefined {
  const experiment = analysis.resolved ?? analysis.fallback;
  if (!experiment) return undefined;
  const note = analysis.resolved ? '' : '\n\n_rpg.dof is not usable: showing the plan at DoF 100%._';
  return experimentMarkdown(experiment) + note;
}

export function experimentMarkdown(e: ResolvedExperiment): string {
  const s = e.summary;
  const [h, w, c] = e.spec.inputShape;
  const head = `**${e.spec.arch}** on ${h}×${w}×${c} inputs, ${count(e.spec.numClasses)} classes`;
  const lines = [
    head,
    '',
    '| | |',
    '|---|---:|',
    `| Total parameters | ${count(s.totalParams)} |`,
    `| Generated by the ring (N) | ${count(s.generatedParams)} |`,
    `| Free (trained directly) | ${count(s.freeParams)} |`,
    `| Ring size (M) | ${count(s.ringSize)} |`,
    `| DoF (ring + free) | ${count(s.dof)} (${percent(s.dofFraction, 2)}) |`,
    `| Compression (total / DoF) | ${ratio(s.compression)} |`,
    `| Reuse factor (N / M) | ${e.plan ? ratio(s.reuse) : '—'} |`,
  ];
  const weightRows = s.rows.filter((r) => isKernelKind(r.kind as never));
  lines.push('', '| Layer | Shape | Params | Ring share |', '|---|---|---:|---:|');
  for (const r of weightRows.slice(0, MAX_LAYER_ROWS)) {
    const share = r.generated && r.share !== undefined ? percent(r.share) : 'free';
    lines.push(`| ${r.layer} | ${r.shape.join('×')} | ${count(r.params)} | ${share} |`);
  }
  if (weightRows.length > MAX_LAYER_ROWS) lines.push(`| … ${weightRows.length - MAX_LAYER_ROWS} more | | | |`);
  return lines.join('\n');
}
