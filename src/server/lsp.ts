// The only place the server's features meet LSP types: spans become ranges, findings become
// diagnostics (with code, documentation link and quick-fix data), completions and hovers
// become their protocol shapes. Everything here is a pure conversion.
import {
  CodeAction,
  CodeActionKind,
  CompletionItem,
  CompletionItemKind,
  Diagnostic,
  DiagnosticSeverity,
  Hover,
  InsertTextFormat,
  MarkupKind,
  Range,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Analysis } from './analysis';
import type { Completion } from './completion';
import { diagnosticDocsHref, Finding, QuickFix, Severity } from './findings';
import type { HoverResult } from './hover';
import { locate, Span } from './json-tree';

export const DIAGNOSTIC_SOURCE = 'rpg';

/** Carried in Diagnostic.data so code actions need no second analysis. */
export interface DiagnosticData {
  readonly fixes: readonly QuickFix[];
}

export function toRange(doc: Pick<TextDocument, 'positionAt'>, span: Span): Range {
  return { start: doc.positionAt(span.offset), end: doc.positionAt(span.offset + span.length) };
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
};

export function toDiagnostics(analysis: Analysis, doc: Pick<TextDocument, 'positionAt'>): Diagnostic[] {
  return analysis.findings.map((f) => toDiagnostic(f, analysis, doc));
}

function toDiagnostic(f: Finding, analysis: Analysis, doc: Pick<TextDocument, 'positionAt'>): Diagnostic {
  const located = f.span ? { span: f.span, exact: false } : locate(analysis.root, f.path ?? [], f.target ?? 'value');
  const href = diagnosticDocsHref(f.code);
  const diagnostic: Diagnostic = {
    range: toRange(doc, located.span),
    severity: SEVERITY[f.severity],
    code: f.code,
    ...(href ? { codeDescription: { href } } : {}),
    source: DIAGNOSTIC_SOURCE,
    message: f.message,
  };
  // A fix replaces the value it is about; when that value is not written (a default), no fix.
  if (f.fixes?.length && located.exact) diagnostic.data = { fixes: f.fixes } satisfies DiagnosticData;
  return diagnostic;
}

/** Quick fixes for the diagnostics the client sends back with a code-action request. */
export function toCodeActions(uri: string, diagnostics: readonly Diagnostic[]): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const d of diagnostics) {
    if (d.source !== DIAGNOSTIC_SOURCE || !isDiagnosticData(d.data)) continue;
    d.data.fixes.forEach((fix, i) => {
      actions.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: i === 0 && !fix.command,
        ...(fix.command
          ? { command: { title: fix.title, command: fix.command, arguments: [uri, d.range] } }
          : { edit: { changes: { [uri]: [{ range: d.range, newText: fix.newText }] } } }),
      });
    });
  }
  return actions;
}

function isDiagnosticData(data: unknown): data is DiagnosticData {
  const fixes = (data as DiagnosticData | undefined)?.fixes;
  return Array.isArray(fixes) && fixes.every((f) => typeof f?.title === 'string' && typeof f?.newText === 'string' && (f.command === undefined || typeof f.command === 'string'));
}

export function toHover(result: HoverResult | undefined, doc: Pick<TextDocument, 'positionAt'>): Hover | null {
  if (!result) return null;
  return { contents: { kind: MarkupKind.Markdown, value: result.markdown }, range: toRange(doc, result.span) };
}

const COMPLETION_KIND: Record<Completion['kind'], CompletionItemKind> = {
  property: CompletionItemKind.Property,
  value: CompletionItemKind.Value,
  enum: CompletionItemKind.EnumMember,
  snippet: CompletionItemKind.Snippet,
};

export function toCompletionItems(items: readonly Completion[], doc: Pick<TextDocument, 'positionAt'>): CompletionItem[] {
  return items.map((c) => ({
    label: c.label,
    kind: COMPLETION_KIND[c.kind],
    textEdit: { range: toRange(doc, c.span), newText: c.insertText },
    insertTextFormat: c.snippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
    ...(c.filterText ? { filterText: c.filterText } : {}),
    ...(c.detail ? { detail: c.detail } : {}),
    ...(c.documentation ? { documentation: { kind: MarkupKind.Markdown, value: c.documentation } } : {}),
    ...(c.sortText ? { sortText: c.sortText } : {}),
    ...(c.preselect ? { preselect: true } : {}),
  }));
}
