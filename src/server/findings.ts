// What the analysis produces before it becomes LSP diagnostics: a finding names its rule (the
// diagnostic code), the JSON path it is about and, optionally, the quick fixes that replace the
// offending value. Keeping findings free of LSP types lets every rule be tested as a pure
// function.
import type { JsonPath, Span, Target } from './json-tree';

/** Base of every diagnostic's documentation link; each code is a heading (anchor) there. */
export const DIAGNOSTIC_DOCS_URL = 'https://github.com/rpg-studio/rpg-studio';

export const DIAGNOSTIC_CODES = [
  'rpg-syntax',
  'rpg-schema',
  'rpg-too-large',
  'rpg-dof-resolved',
  'rpg-dof-too-large',
  'rpg-dof-invalid',
  'rpg-dof-reuse',
  'rpg-plan',
  'rpg-shape',
  'rpg-graph-unknown-input',
  'rpg-graph-cycle',
  'rpg-graph-shape',
  'rpg-graph-unreachable',
  'rpg-graph',
  'rpg-import-unsupported',
  'rpg-import',
  'rpg-free-unknown',
  'rpg-num-classes',
  'rpg-dataset-path',
  'rpg-dataset-format',
  'rpg-lr-range',
  'rpg-batch-range',
  'rpg-epochs-range',
  'rpg-sweep-prediction',
  'rpg-internal',
] as const;
export type DiagnosticCodeName = (typeof DIAGNOSTIC_CODES)[number];

export function diagnosticDocsHref(code: DiagnosticCodeName): string {
  return `${DIAGNOSTIC_DOCS_URL}#${code}`;
}

export type Severity = 'error' | 'warning' | 'information';

/** Replaces the finding's (exact) value node with `newText`. */
export interface QuickFix {
  readonly title: string;
  readonly newText: string;
}

export interface Finding {
  readonly code: DiagnosticCodeName;
  readonly severity: Severity;
  readonly message: string;
  /** Where: a JSON path (resolved to a node) or, for syntax errors, a raw span. */
  readonly path?: JsonPath;
  readonly target?: Target;
  readonly span?: Span;
  readonly fixes?: readonly QuickFix[];
}

