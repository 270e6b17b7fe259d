// The `.rpg.json` language server: wiring only. Documents are analysed (debounced) into one
// Analysis per version; diagnostics, hover, completion and quick fixes all read it. Works over
// --stdio and --node-ipc (createConnection picks the transport from the command line).
import { performance } from 'node:perf_hooks';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CodeActionKind,
  createConnection,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  InitializeParams,
  InitializeResult,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { describeDataset } from '../core/data';
import { analyze, Analysis } from './analysis';
import { completeAt } from './completion';
import { hoverAt } from './hover';
import { toCodeActions, toCompletionItems, toDiagnostics, toHover } from './lsp';
import { AnalysisStatusNotification } from './protocol';
import { DEFAULT_SETTINGS, readSettings, ServerSettings, SETTINGS_SECTION } from './settings';
import { SweepIndex } from './sweep-index';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

let settings: ServerSettings = DEFAULT_SETTINGS;
let clientHasConfiguration = false;
let clientCanWatchFiles = false;
let sweeps: SweepIndex | undefined;
let sweepRoots: string[] = [];

/** The latest analysis of each open document, keyed by URI; valid for one version. */
const analyses = new Map<string, { version: number; analysis: Analysis }>();
const pending = new Map<string, NodeJS.Timeout>();

function baseDirOf(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return path.dirname(fileURLToPath(uri));
  } catch {
    return undefined;
  }
}

function analyzeDocument(doc: TextDocument): Analysis {
  const analysis = analyze(doc.getText(), {
    baseDir: baseDirOf(doc.uri),
    describeDataset,
    ...(sweeps ? { sweeps } : {}),
    maxFileBytes: settings.maxFileSizeKb * 1024,
  });
  analyses.set(doc.uri, { version: doc.version, analysis });
  return analysis;
}

/** The analysis of the document's current version, computing it if an edit is still pending. */
function currentAnalysis(doc: TextDocument): Analysis {
  const cached = analyses.get(doc.uri);
  return cached && cached.version === doc.version ? cached.analysis : analyzeDocument(doc);
}

function publish(doc: TextDocument): void {
  pending.delete(doc.uri);
  const started = performance.now();
  const analysis = analyzeDocument(doc);
  const diagnostics = toDiagnostics(analysis, doc);
  const analysisMs = performance.now() - started;
  void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics });
  void connection.sendNotification(AnalysisStatusNotification, {
    uri: doc.uri, version: doc.version, analysisMs, diagnostics: diagnostics.length, state: analysis.skipped ?? 'ok',
  });
}

function schedule(doc: TextDocument, delayMs: number): void {
  const previous = pending.get(doc.uri);
  if (previous) clearTimeout(previous);
  const uri = doc.uri;
  const run = (): void => {
    const latest = documents.get(uri);
    if (latest) publish(latest);
  };
  if (delayMs <= 0) {
    pending.delete(uri);
    run();
  } else {
    pending.set(uri, setTimeout(run, delayMs));
  }
}

function revalidateAll(): void {
  for (const doc of documents.all()) schedule(doc, 0);
}

async function refreshSettings(): Promise<void> {
  if (!clientHasConfiguration) return;
  try {
    settings = readSettings(await connection.workspace.getConfiguration(SETTINGS_SECTION), settings);
  } catch {
    // A client that cannot answer keeps the current settings.
  }
}

connection.onInitialize((params: InitializeParams): InitializeResult => {
  settings = readSettings(params.initializationOptions);
  clientHasConfiguration = !!params.capabilities.workspace?.configuration;
  clientCanWatchFiles = !!params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration;
  const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
  const roots = folders.flatMap((uri) => {
    const dir = uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
    return dir ? [dir] : [];
  });
  sweepRoots = roots;
  sweeps = new SweepIndex({ roots, rescanMs: settings.sweepRescanSeconds * 1000, onChange: revalidateAll });
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      completionProvider: { triggerCharacters: ['"', ':'] },
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
    },
    serverInfo: { name: 'RPG Studio language server', version: '0.1.0' },
  };
});

connection.onInitialized(async () => {
  if (clientHasConfiguration) void connection.client.register(DidChangeConfigurationNotification.type, { section: SETTINGS_SECTION });
  if (clientCanWatchFiles) void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/sweep.json' }] });
  await refreshSettings();
  await sweeps?.refresh();
});

connection.onDidChangeConfiguration(async (change) => {
  const rescanBefore = settings.sweepRescanSeconds;
  if (clientHasConfiguration) await refreshSettings();
  else settings = readSettings((change.settings as Record<string, unknown> | undefined)?.rpg ?? {}, settings);
  if (sweeps && settings.sweepRescanSeconds !== rescanBefore) {
    // The rescan timer is made with the index: a new period needs a new index.
    sweeps.dispose();
    sweeps = new SweepIndex({ roots: sweepRoots, rescanMs: settings.sweepRescanSeconds * 1000, onChange: revalidateAll });
    await sweeps.refresh();
  }
  revalidateAll();
});

connection.onDidChangeWatchedFiles(() => void sweeps?.refresh());

documents.onDidOpen((e) => schedule(e.document, 0));
documents.onDidChangeContent((e) => {
  // didOpen also fires onDidChangeContent; the open already published this version.
  if (analyses.get(e.document.uri)?.version === e.document.version) return;
  schedule(e.document, settings.debounceMs);
});
documents.onDidClose((e) => {
  const timer = pending.get(e.document.uri);
  if (timer) clearTimeout(timer);
  pending.delete(e.document.uri);
  analyses.delete(e.document.uri);
  void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
});

connection.onHover((params) => {
  const doc = documents.get(params.textDocument.uri);
  if (!doc) return null;
  return toHover(hoverAt(currentAnalysis(doc), doc.offsetAt(params.position)), doc);
});

connection.onCompletion(async (params) => {
  const doc = documents.get(params.textDocument.uri);
  if (!doc) return [];
  const analysis = currentAnalysis(doc);
  if (analysis.skipped) return [];
  return toCompletionItems(await completeAt(analysis, doc.offsetAt(params.position)), doc);
});

connection.onCodeAction((params) => toCodeActions(params.textDocument.uri, params.context.diagnostics));

connection.onShutdown(() => sweeps?.dispose());

documents.listen(connection);
connection.listen();
