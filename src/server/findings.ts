// What the analysis produces before it becomes LSP diagnostics: a finding names its rule (the
// diagnostic code), the JSON path it is about and, optionally, the quick fixes that replace the
// offending value. Keeping findings free of LSP types lets every rule be tested as a pure
// function.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JsonPath, Span, Target } from './json-tree';

/** The documentation shipped with the extension; each code is a `### rpg-…` heading there. */
export const DIAGNOSTICS_DOC = path.join('docs', 'config-and-diagnostics.md');

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

/**
 * The link of a diagnostic code: the bundled docs file at the code's heading (a file: URI with
 * `#L<line>`, which VS Code opens in an editor at that line), so it works offline and in a
 * .vsix. Undefined only when the docs are not next to the server (then no link is shown).
 */
export function diagnosticDocsHref(code: DiagnosticCodeName): string | undefined {
  const docs = docsHeadings();
  const line = docs?.lines.get(code);
  return docs && line ? `${pathToFileURL(docs.file).href}#L${line}` : undefined;
}

let headings: { file: string; lines: Map<string, number> } | null | undefined;

/** The docs file (found above the running bundle or source) and the line of each heading. */
function docsHeadings(): { file: string; lines: Map<string, number> } | undefined {
  if (headings !== undefined) return headings ?? undefined;
  headings = null;
  for (let dir = __dirname, i = 0; i < 4; i++, dir = path.dirname(dir)) {
    const file = path.join(dir, DIAGNOSTICS_DOC);
    if (!existsSync(file)) continue;
    const lines = new Map<string, number>();
    readFileSync(file, 'utf8').split('\n').forEach((text, n) => {
      const m = /^#+\s+(rpg-[a-z0-9-]+)\s*$/.exec(text);
      if (m) lines.set(m[1]!, n + 1);
    });
    headings = { file, lines };
    break;
  }
  return headings ?? undefined;
}

export type Severity = 'error' | 'warning' | 'information';

/**
 * Replaces the finding's (exact) node with `newText`; or, with `command`, runs a command of the
 * extension instead (e.g. a folder picker), given the document URI and the node's range.
 */
export interface QuickFix {
  readonly title: string;
  readonly newText: string;
  readonly command?: string;
}

/** The extension's command behind the "Browse…" fix of data.path (src/extension registers it). */
export const BROWSE_DATA_PATH_COMMAND = 'rpg.browseDataPath';

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

