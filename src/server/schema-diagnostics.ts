// Syntax and schema findings. Validation is the project's own validator (src/core/config), the same
// one the CLI and trainer run, so the editor can never accept a file the trainer rejects; its
// JSON paths are mapped onto the jsonc-parser tree for exact ranges.
import { printParseErrorCode, ParseError } from 'jsonc-parser';
import { configSchema, RpgConfig } from '../core/config/schema';
import type { SchemaIssue } from '../core/config/schema-dsl';
import { closestWords } from './did-you-mean';
import type { Finding, QuickFix } from './findings';
import { enumValues, schemaAt } from './schema-info';

export function syntaxFindings(errors: readonly ParseError[], textLength: number): Finding[] {
  return errors.slice(0, 20).map((e) => ({
    code: 'rpg-syntax',
    severity: 'error',
    message: `JSON syntax error: ${describeParseError(printParseErrorCode(e.error))}`,
    // A zero-length error (e.g. "value expected" at the end) still gets one visible character.
    span: { offset: e.offset, length: e.length > 0 ? e.length : Math.min(1, Math.max(0, textLength - e.offset)) },
  }));
}

const PARSE_ERROR_TEXT: Record<string, string> = {
  InvalidSymbol: 'invalid symbol',
  InvalidNumberFormat: 'invalid number format',
  PropertyNameExpected: 'property name expected',
  ValueExpected: 'value expected',
  ColonExpected: 'colon expected',
  CommaExpected: 'comma expected',
  CloseBraceExpected: 'closing brace expected',
  CloseBracketExpected: 'closing bracket expected',
  EndOfFileExpected: 'end of file expected',
  InvalidCommentToken: 'invalid comment token',
  UnexpectedEndOfComment: 'unexpected end of comment',
  UnexpectedEndOfString: 'unexpected end of string',
  UnexpectedEndOfNumber: 'unexpected end of number',
  InvalidUnicode: 'invalid unicode sequence',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character',
};

function describeParseError(name: string): string {
  return PARSE_ERROR_TEXT[name] ?? name;
}

export function schemaFindings(issues: readonly SchemaIssue[], value?: unknown): Finding[] {
  return issues.map((issue) => {
    const unknownKey = issue.message.startsWith('unknown field');
    const fixes = didYouMean(issue, unknownKey, value);
    return {
      code: 'rpg-schema',
      severity: 'error',
      message: issue.path.length ? `${issue.path.join('.')}: ${issue.message}${fixes.length ? ` (did you mean ${fixes.map((f) => f.newText).join(' or ')}?)` : ''}` : issue.message,
      path: issue.path,
      // Unknown fields are underlined on their key; everything else on the value.
      target: unknownKey ? 'key' : 'value',
      ...(fixes.length ? { fixes } : {}),
    };
  });
}

/** Quick fixes for a typo: the closest field names of the object, or the closest enum values. */
function didYouMean(issue: SchemaIssue, unknownKey: boolean, value: unknown): QuickFix[] {
  const last = issue.path[issue.path.length - 1];
  if (typeof last !== 'string') return [];
  if (unknownKey) {
    const parent = schemaAt(issue.path.slice(0, -1));
    const present = new Set(Object.keys(objectAt(value, issue.path.slice(0, -1)) ?? {}));
    const keys = Object.keys(parent?.properties ?? {}).filter((k) => !present.has(k));
    return closestWords(last, keys).map((k) => ({ title: `Rename to "${k}"`, newText: JSON.stringify(k) }));
  }
  const field = schemaAt(issue.path);
  const written = valueAt(value, issue.path);
  if (!field || typeof written !== 'string') return [];
  return closestWords(written, enumValues(field).map((e) => e.value)).map((v) => ({ title: `Change to "${v}"`, newText: JSON.stringify(v) }));
}

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

function objectAt(value: unknown, path: readonly (string | number)[]): Record<string, unknown> | undefined {
  const v = valueAt(value, path);
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Top-level parts of a config that are validated (and trusted) independently. */
export const SECTIONS = ['model', 'rpg', 'data', 'train', 'seed'] as const;
export type Section = (typeof SECTIONS)[number];

export interface ValidationResult {
  readonly issues: SchemaIssue[];
  /**
   * The config with defaults, built from the sections that validated: a typo in `train` must not
   * hide the model's numbers. Undefined when `model` itself is invalid or missing.
   */
  readonly config: RpgConfig | undefined;
  /** Sections the user wrote (or left to defaults) without any issue. */
  readonly validSections: ReadonlySet<Section>;
}

export function validate(value: unknown): ValidationResult {
  const issues: SchemaIssue[] = [];
  const full = configSchema.parse(value, [], issues);
  if (full && issues.length === 0) return { issues, config: full, validSections: new Set(SECTIONS) };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { issues, config: undefined, validSections: new Set() };

  const broken = new Set(issues.map((i) => String(i.path[0] ?? '')));
  const known = new Set(Object.keys(configSchema.json.properties as object));
  const cleaned: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (known.has(key) && !broken.has(key)) cleaned[key] = v;
  }
  const config = configSchema.parse(cleaned, [], []);
  const validSections = new Set(SECTIONS.filter((s) => !broken.has(s)));
  return { issues, config, validSections };
}
