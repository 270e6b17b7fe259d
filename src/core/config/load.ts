// Reads a `.rpg.json` (JSONC: comments and trailing commas allowed, as VS Code does) into a
// validated RpgConfig, or a ConfigError naming the file, the field and what was expected.
import * as path from 'node:path';
import { parse as parseJsonc, ParseError, printParseErrorCode } from 'jsonc-parser';
import { configSchema, RpgConfig, TFJS_ONLY_BACKENDS, TORCH_ONLY_BACKENDS } from './schema';
import { SchemaIssue } from './schema-dsl';
import { readBoundedFile, UnreadableFileError } from '../files';

/** No experiment config comes near this; a bigger file is a mistake (a dataset, /dev/zero). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export class ConfigError extends Error {
  constructor(
    readonly file: string | undefined,
    readonly issues: SchemaIssue[],
  ) {
    super(formatIssues(file, issues));
    this.name = 'ConfigError';
  }
  /** The first offending field as a dotted path ("train.lr"), for structured errors. */
  get field(): string | undefined {
    const first = this.issues[0];
    return first && first.path.length ? first.path.join('.') : undefined;
  }
}

export function formatIssues(file: string | undefined, issues: SchemaIssue[]): string {
  const where = file ? `${file}: ` : '';
  return issues.map((i) => `${where}${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('\n');
}

/** Parses JSONC text; syntax errors become issues with a line:column. */
export function parseConfigText(text: string, file?: string): RpgConfig {
  const errors: ParseError[] = [];
  const raw: unknown = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length) {
    const issues = errors.slice(0, 5).map((e) => {
      const { line, column } = lineColumn(text, e.offset);
      return { path: [], message: `JSON syntax error at ${line}:${column}: ${printParseErrorCode(e.error)}` };
    });
    throw new ConfigError(file, issues);
  }
  return validateConfig(raw, file);
}

/** Validates an already parsed object (e.g. sent over JSON-RPC) and applies defaults. */
export function validateConfig(raw: unknown, file?: string): RpgConfig {
  const issues: SchemaIssue[] = [];
  const config = configSchema.parse(raw, [], issues);
  if (!config || issues.length) throw new ConfigError(file, issues);
  const pairing = engineBackendIssue(config);
  if (pairing) throw new ConfigError(file, [pairing]);
  if (!config.name) config.name = file ? path.basename(file).replace(/\.rpg\.json$|\.json$/, '') : 'experiment';
  return config;
}

/** A backend the config's engine does not have ("cuda" with tfjs, "wasm" with torch). */
export function engineBackendIssue(config: Pick<RpgConfig, 'train'>): SchemaIssue | undefined {
  const { engine, backend } = config.train;
  if (engine === 'tfjs' && TORCH_ONLY_BACKENDS.includes(backend)) return { path: ['train', 'backend'], message: `backend "${backend}" runs on the torch engine: set train.engine to "torch" (or use auto, wasm, cpu or tensorflow)` };
  if (engine === 'torch' && TFJS_ONLY_BACKENDS.includes(backend)) return { path: ['train', 'backend'], message: `backend "${backend}" belongs to the tfjs engine: the torch engine runs on auto, cuda, mps or cpu` };
  return undefined;
}

export function loadConfigFile(file: string): RpgConfig {
  let text: string;
  try {
    text = readBoundedFile(file, MAX_CONFIG_BYTES).toString('utf8');
  } catch (err) {
    const why = err instanceof UnreadableFileError ? `it ${err.reason}` : `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    throw new ConfigError(file, [{ path: [], message: why }]);
  }
  return parseConfigText(text, file);
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: offset - last };
}
