// Reading the emitted JSON Schema by path: what hover shows for a field and what completion
// offers (property names, enum values, defaults). The schema comes from src/core/config/schema.ts,
// the single declaration of the format.
import { jsonSchemaDocument } from '../core/config/schema';
import type { JsonPath } from './json-tree';

export interface FieldSchema {
  readonly type?: string;
  readonly description?: string;
  readonly markdownDescription?: string;
  readonly default?: unknown;
  readonly examples?: readonly unknown[];
  readonly enum?: readonly string[];
  readonly enumDescriptions?: readonly string[];
  readonly properties?: Readonly<Record<string, FieldSchema>>;
  readonly required?: readonly string[];
  readonly items?: FieldSchema;
  /** A record's values (graph.blocks by name). */
  readonly additionalProperties?: FieldSchema | boolean;
  readonly anyOf?: readonly FieldSchema[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
}

export const ROOT_SCHEMA = jsonSchemaDocument() as FieldSchema;

/** The schema of the node at `path`, or undefined for paths outside the format. */
export function schemaAt(path: JsonPath, root: FieldSchema = ROOT_SCHEMA): FieldSchema | undefined {
  let s: FieldSchema | undefined = root;
  for (const segment of path) {
    if (!s) return undefined;
    s = typeof segment === 'number' ? s.items : (s.properties?.[segment] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined));
  }
  return s;
}

/** Every enum value and description of a field, including inside anyOf alternatives. */
export function enumValues(s: FieldSchema): { value: string; description?: string }[] {
  const all = [s, ...(s.anyOf ?? [])];
  return all.flatMap((x) => (x.enum ?? []).map((value, i) => ({ value, ...(x.enumDescriptions?.[i] ? { description: x.enumDescriptions[i] } : {}) })));
}

/** "number ≥ 1", "integer in [2, 100000]", "one of …": the allowed values in words. */
export function allowedValues(s: FieldSchema): string | undefined {
  if (s.enum) return `one of ${s.enum.map((v) => `\`${v}\``).join(', ')}`;
  if (s.anyOf) return s.anyOf.map((a) => allowedValues(a) ?? a.type).filter(Boolean).join(', or ');
  if (!s.type) return undefined;
  const bounds: string[] = [];
  if (s.minimum !== undefined) bounds.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) bounds.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) bounds.push(`≤ ${s.maximum}`);
  return [s.type, ...bounds].join(' ');
}

/** Markdown for a field: description, allowed values, default, examples. */
export function fieldMarkdown(path: JsonPath, s: FieldSchema): string {
  const name = path.filter((p) => typeof p === 'string').join('.') || 'RPG config';
  const lines = [`**${name}** — ${s.markdownDescription ?? s.description ?? ''}`.trim()];
  const facts: string[] = [];
  if (s.type !== 'object') {
    const allowed = allowedValues(s);
    if (allowed) facts.push(`Allowed: ${allowed}`);
  }
  if (s.default !== undefined && s.type !== 'object') facts.push(`Default: \`${JSON.stringify(s.default)}\``);
  if (s.examples?.length) facts.push(`Examples: ${s.examples.map((e) => `\`${JSON.stringify(e)}\``).join(', ')}`);
  if (facts.length) lines.push('', facts.join(' · '));
  return lines.join('\n');
}
