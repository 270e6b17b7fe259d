// One analysis of one document version: parse → schema → semantic rules. Every editor feature
// (diagnostics, hover, completion, quick fixes) reads the same Analysis, computed once per
// version. Pure apart from the dataset description it is given; never throws.
import type { Node } from 'jsonc-parser';
import type { RpgConfig } from '../core/config/schema';
import type { ResolvedExperiment } from '../core/experiment/resolve';
import type { DatasetInfo } from '../core/data/types';
import { Finding } from './findings';
import { count } from '../core/format/numbers';
import { firstTooDeepOffset, MAX_NESTING_DEPTH, parseJson } from './json-tree';
import { schemaFindings, Section, syntaxFindings, validate } from './schema-diagnostics';
import { DescribeDataset, semanticFindings } from './semantic-diagnostics';
import type { SweepLookup } from './sweep-index';

export interface AnalysisEnv {
  /** Folder of the config file (data.path is relative to it); undefined for unsaved files. */
  readonly baseDir: string | undefined;
  readonly describeDataset: DescribeDataset;
  readonly sweeps?: SweepLookup;
  /** Documents larger than this are not analysed at all (one information diagnostic). */
  readonly maxFileBytes: number;
}

export interface Analysis {
  readonly text: string;
  readonly root: Node | undefined;
  readonly config: RpgConfig | undefined;
  readonly validSections: ReadonlySet<Section>;
  readonly resolved: ResolvedExperiment | undefined;
  /** The experiment at DoF 100% when rpg.dof itself is unusable. */
  readonly fallback: ResolvedExperiment | undefined;
  readonly dataset: DatasetInfo | undefined;
  readonly findings: readonly Finding[];
  /** Why the document was not analysed, if it was not. */
  readonly skipped: 'too-large' | 'too-deep' | undefined;
}

const EMPTY: Omit<Analysis, 'text' | 'findings' | 'skipped'> = {
  root: undefined, config: undefined, validSections: new Set(), resolved: undefined, fallback: undefined, dataset: undefined,
};

export function analyze(text: string, env: AnalysisEnv): Analysis {
  try {
    return analyzeUnguarded(text, env);
  } catch (err) {
    // A bug in a rule must cost one diagnostic, never the server.
    const message = `RPG Studio could not analyse this file (${err instanceof Error ? err.message : String(err)}); please report it`;
    return { ...EMPTY, text, skipped: undefined, findings: [{ code: 'rpg-internal', severity: 'warning', message, span: { offset: 0, length: 0 } }] };
  }
}

function analyzeUnguarded(text: string, env: AnalysisEnv): Analysis {
  // UTF-16 length is a cheap lower bound of the byte size, which is what a user means by "size".
  if (text.length > env.maxFileBytes) {
    const message = `This file is ${count(text.length / 1024)} KB, above the ${count(env.maxFileBytes / 1024)} KB limit: RPG Studio skips its analysis (setting rpg.languageServer.maxFileSizeKb)`;
    return { ...EMPTY, text, skipped: 'too-large', findings: [{ code: 'rpg-too-large', severity: 'information', message, span: { offset: 0, length: 0 } }] };
  }
  const deep = firstTooDeepOffset(text);
  if (deep >= 0) {
    const message = `JSON nested deeper than ${MAX_NESTING_DEPTH} levels: not an RPG config, not analysed`;
    return { ...EMPTY, text, skipped: 'too-deep', findings: [{ code: 'rpg-syntax', severity: 'error', message, span: { offset: deep, length: 1 } }] };
  }

  const parsed = parseJson(text);
  const findings: Finding[] = syntaxFindings(parsed.errors, text.length);
  // An empty document is a new config being started: completion offers a snippet, no errors yet.
  if (!parsed.root) return { ...EMPTY, text, root: undefined, skipped: undefined, findings };

  const validation = validate(parsed.value);
  findings.push(...schemaFindings(validation.issues, parsed.value));
  if (!validation.config) return { ...EMPTY, text, root: parsed.root, validSections: validation.validSections, skipped: undefined, findings };

  const semantic = semanticFindings({
    config: validation.config,
    validSections: validation.validSections,
    baseDir: env.baseDir,
    describeDataset: env.describeDataset,
    ...(env.sweeps ? { sweeps: env.sweeps } : {}),
  });
  findings.push(...semantic.findings);
  return {
    text,
    root: parsed.root,
    config: validation.config,
    validSections: validation.validSections,
    resolved: semantic.resolved,
    fallback: semantic.fallback,
    dataset: semantic.dataset,
    findings,
    skipped: undefined,
  };
}
