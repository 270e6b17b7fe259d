// A tiny schema language: one declaration gives the TypeScript type (Infer<>), the JSON Schema
// that editors consume, and a validator that applies defaults and reports the exact field at
// fault. This is what keeps "one schema, one source" true for the CLI, trainer and server.

export interface JsonSchema {
  [key: string]: unknown;
}

export interface SchemaIssue {
  /** JSON path of the offending node, e.g. ["train", "lr"]. */
  path: (string | number)[];
  message: string;
}

export interface Schema<T> {
  readonly json: JsonSchema;
  readonly defaultValue: T | undefined;
  /** Returns the value with defaults applied, or undefined after pushing issues. */
  parse(value: unknown, path: (string | number)[], issues: SchemaIssue[]): T | undefined;
  /** Marks the type only; never set at run time. */
  readonly _type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

interface Meta<T> {
  description: string;
  default?: T;
  examples?: T[];
  markdownDescription?: string;
}

function meta<T>(m: Meta<T>): JsonSchema {
  const out: JsonSchema = { description: m.description };
  if (m.markdownDescription) out.markdownDescription = m.markdownDescription;
  if (m.default !== undefined) out.default = m.default;
  if (m.examples) out.examples = m.examples;
  return out;
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${String(value)}`;
}

export function num(m: Meta<number> & { minimum?: number; maximum?: number; exclusiveMinimum?: number; integer?: boolean }): Schema<number> {
  const json: JsonSchema = { type: m.integer ? 'integer' : 'number', ...meta(m) };
  if (m.minimum !== undefined) json.minimum = m.minimum;
  if (m.maximum !== undefined) json.maximum = m.maximum;
  if (m.exclusiveMinimum !== undefined) json.exclusiveMinimum = m.exclusiveMinimum;
  return {
    json,
    defaultValue: m.default,
    parse(value, path, issues) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        issues.push({ path, message: `expected ${m.integer ? 'an integer' : 'a number'}, got ${typeName(value)}` });
        return undefined;
      }
      if (m.integer && !Number.isInteger(value)) {
        issues.push({ path, message: `expected an integer, got ${value}` });
        return undefined;
      }
      if (m.minimum !== undefined && value < m.minimum) {
        issues.push({ path, message: `must be ≥ ${m.minimum}, got ${value}` });
        return undefined;
      }
      if (m.exclusiveMinimum !== undefined && value <= m.exclusiveMinimum) {
        issues.push({ path, message: `must be > ${m.exclusiveMinimum}, got ${value}` });
        return undefined;
      }
      if (m.maximum !== undefined && value > m.maximum) {
        issues.push({ path, message: `must be ≤ ${m.maximum}, got ${value}` });
        return undefined;
      }
      return value;
    },
  };
}

export function str(m: Meta<string> & { pattern?: string; patternMessage?: string; minLength?: number }): Schema<string> {
  const json: JsonSchema = { type: 'string', ...meta(m) };
  if (m.pattern) json.pattern = m.pattern;
  if (m.patternMessage) json.patternErrorMessage = m.patternMessage;
  if (m.minLength !== undefined) json.minLength = m.minLength;
  const re = m.pattern ? new RegExp(m.pattern) : undefined;
  return {
    json,
    defaultValue: m.default,
    parse(value, path, issues) {
      if (typeof value !== 'string') {
        issues.push({ path, message: `expected a string, got ${typeName(value)}` });
        return undefined;
      }
      if (m.minLength !== undefined && value.length < m.minLength) {
        issues.push({ path, message: `must not be empty` });
        return undefined;
      }
      if (re && !re.test(value)) {
        issues.push({ path, message: m.patternMessage ?? `does not match ${m.pattern}` });
        return undefined;
      }
      return value;
    },
  };
}

export function bool(m: Meta<boolean>): Schema<boolean> {
  return {
    json: { type: 'boolean', ...meta(m) },
    defaultValue: m.default,
    parse(value, path, issues) {
      if (typeof value !== 'boolean') {
        issues.push({ path, message: `expected true or false, got ${typeName(value)}` });
        return undefined;
      }
      return value;
    },
  };
}

export function enumOf<const V extends string>(values: readonly V[], m: Meta<V> & { enumDescriptions?: string[] }): Schema<V> {
  const json: JsonSchema = { type: 'string', enum: [...values], ...meta(m) };
  if (m.enumDescriptions) json.enumDescriptions = m.enumDescriptions;
  return {
    json,
    defaultValue: m.default,
    parse(value, path, issues) {
      if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
        issues.push({ path, message: `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}, got ${typeName(value)}` });
        return undefined;
      }
      return value as V;
    },
  };
}

export function arrayOf<T>(item: Schema<T>, m: Meta<T[]> & { minItems?: number; maxItems?: number }): Schema<T[]> {
  const json: JsonSchema = { type: 'array', items: item.json, ...meta(m) };
  if (m.minItems !== undefined) json.minItems = m.minItems;
  if (m.maxItems !== undefined) json.maxItems = m.maxItems;
  return {
    json,
    defaultValue: m.default,
    parse(value, path, issues) {
      if (!Array.isArray(value)) {
        issues.push({ path, message: `expected an array, got ${typeName(value)}` });
        return undefined;
      }
      if (m.minItems !== undefined && value.length < m.minItems) {
        issues.push({ path, message: `expected at least ${m.minItems} item(s), got ${value.length}` });
        return undefined;
      }
      if (m.maxItems !== undefined && value.length > m.maxItems) {
        issues.push({ path, message: `expected at most ${m.maxItems} item(s), got ${value.length}` });
        return undefined;
      }
      const out: T[] = [];
      let ok = true;
      value.forEach((v, i) => {
        const parsed = item.parse(v, [...path, i], issues);
        if (parsed === undefined) ok = false;
        else out.push(parsed);
      });
      return ok ? out : undefined;
    },
  };
}

/** Either of two schemas, tried in order (e.g. DoF as a count or as "10%"). */
export function either<A, B>(a: Schema<A>, b: Schema<B>, m: Meta<A | B>): Schema<A | B> {
  return {
    json: { anyOf: [a.json, b.json], ...meta(m) },
    defaultValue: m.default,
    parse(value, path, issues) {
      const ia: SchemaIssue[] = [];
      const ra = a.parse(value, path, ia);
      if (ra !== undefined) return ra;
      const ib: SchemaIssue[] = [];
      const rb = b.parse(value, path, ib);
      if (rb !== undefined) return rb;
      // Report the alternative whose type matched, else both.
      const matched = typeof value === 'string' ? ib : typeof value === 'number' ? ia : [...ia, ...ib];
      issues.push({ path, message: matched.map((i) => i.message).join('; or ') });
      return undefined;
    },
  };
}

type Field<T> = Schema<T> & { optional?: boolean };

/** Marks a field that may be absent and has no default. */
export function optional<T>(s: Schema<T>): Schema<T> & { optional: true } {
  return { ...s, optional: true };
}

type Shape = Record<string, Field<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ObjectType<S extends Shape> = Simplify<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

export function obj<S extends Shape>(shape: S, m: Meta<ObjectType<S>> & { required?: (keyof S & string)[] }): Schema<ObjectType<S>> {
  const properties: Record<string, JsonSchema> = {};
  for (const [k, v] of Object.entries(shape)) properties[k] = v.json;
  const required = m.required ?? [];
  const json: JsonSchema = { type: 'object', properties, additionalProperties: false, ...meta(m) };
  if (required.length) json.required = required;
  return {
    json,
    defaultValue: m.default,
    parse(value, path, issues) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ path, message: `expected an object, got ${typeName(value)}` });
        return undefined;
      }
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      let ok = true;
      for (const key of Object.keys(input)) {
        if (key === '$schema' && path.length === 0) continue;
        if (!(key in shape)) {
          issues.push({ path: [...path, key], message: `unknown field "${key}"; expected one of ${Object.keys(shape).join(', ')}` });
          ok = false;
        }
      }
      for (const [key, field] of Object.entries(shape)) {
        if (!(key in input) || input[key] === undefined) {
          if (required.includes(key)) {
            issues.push({ path: [...path, key], message: `missing required field "${key}"` });
            ok = false;
          } else if (field.defaultValue !== undefined) {
            out[key] = structuredClone(field.defaultValue);
          } else if (!field.optional) {
            // An object without a default gets its own fields' defaults.
            const inner = field.parse({}, [...path, key], issues);
            if (inner === undefined) ok = false;
            else out[key] = inner;
          }
          continue;
        }
        const parsed = field.parse(input[key], [...path, key], issues);
        if (parsed === undefined) ok = false;
        else out[key] = parsed;
      }
      return ok ? (out as ObjectType<S>) : undefined;
    },
  };
}

/** An object whose keys the user names (e.g. graph blocks by name), every value one schema. */
export function record<T>(item: Schema<T>, m: Meta<Record<string, T>> & { keyPattern?: string; keyMessage?: string }): Schema<Record<string, T>> {
  const json: JsonSchema = { type: 'object', additionalProperties: item.json, ...meta(m) };
  if (m.keyPattern) json.propertyNames = { pattern: m.keyPattern };
  const re = m.keyPattern ? new RegExp(m.keyPattern) : undefined;
  return {
    json,
    defaultValue: m.default,
    parse(value, path, issues) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ path, message: `expected an object, got ${typeName(value)}` });
        return undefined;
      }
      const out: Record<string, T> = {};
      let ok = true;
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        if (re && !re.test(key)) {
          issues.push({ path: [...path, key], message: m.keyMessage ?? `the name "${key}" does not match ${m.keyPattern}` });
          ok = false;
          continue;
        }
        const parsed = item.parse(v, [...path, key], issues);
        if (parsed === undefined) ok = false;
        else out[key] = parsed;
      }
      return ok ? out : undefined;
    },
  };
}

/**
 * A schema with a further check on the parsed value (rules across fields, e.g. "exactly one of
 * arch, graph, import"); `check` pushes its own issues. `json` is merged into the emitted schema.
 */
export function refine<T>(s: Schema<T>, check: (value: T, path: (string | number)[], issues: SchemaIssue[]) => void, json: JsonSchema = {}): Schema<T> {
  return {
    ...s,
    json: { ...s.json, ...json },
    parse(value, path, issues) {
      const parsed = s.parse(value, path, issues);
      if (parsed === undefined) return undefined;
      const before = issues.length;
      check(parsed, path, issues);
      return issues.length === before ? parsed : undefined;
    },
  };
}
