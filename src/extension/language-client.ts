// Starts the `.rpg.json` language server (dist/server.js) over Node IPC. Diagnostics, hover,
// completion and quick fixes come from it; the extension adds nothing to them.
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';
import { AnalysisStatusNotification } from '../server/protocol';

export const LANGUAGE_ID = 'rpg-config';

/** Starts the client; `disposables` receives what must be disposed with it. */
export async function startLanguageClient(extensionUri: vscode.Uri, log: vscode.LogOutputChannel, disposables: vscode.Disposable[], onCreated?: (client: LanguageClient) => void): Promise<LanguageClient> {
  const module = vscode.Uri.joinPath(extensionUri, 'dist', 'server.js').fsPath;
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
  };
  // Sweeps feed the server's accuracy predictions: the server registers its own watcher for
  // **/sweep.json (dynamic registration), so no static watcher here; run.json and configs
  // change all the time and would make it rescan the workspace for nothing.
  const server = vscode.workspace.getConfiguration('rpg.languageServer');
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: LANGUAGE_ID }],
    synchronize: { configurationSection: 'rpg.languageServer' },
    // Read in onInitialize, before the first configuration request (the sweep index's timer
    // is created there).
    initializationOptions: {
      debounceMs: server.get<number>('debounceMs'),
      maxFileSizeKb: server.get<number>('maxFileSizeKb'),
      sweepRescanSeconds: server.get<number>('sweepRescanSeconds'),
    },
    outputChannel: log,
    traceOutputChannel: log,
  };
  const client = new LanguageClient('rpg.languageServer', 'RPG Language Server', serverOptions, clientOptions);
  // deactivate() must be able to stop a client that is still starting.
  onCreated?.(client);
  await client.start();
  // The server's own timing for the active config, next to the language mode.
  const status = vscode.languages.createLanguageStatusItem('rpg.analysis', { language: LANGUAGE_ID });
  status.name = 'RPG analysis';
  status.text = '$(check) RPG';
  client.onNotification(AnalysisStatusNotification, (s) => {
    const active = vscode.window.activeTextEditor?.document.uri.toString();
    if (active !== undefined && s.uri !== active) return;
    status.text = s.state === 'ok' ? `$(check) RPG ${s.analysisMs.toFixed(0)} ms` : `$(warning) RPG: ${s.state}`;
    status.detail = s.state === 'ok' ? `analysed in ${s.analysisMs.toFixed(1)} ms, ${s.diagnostics} diagnostic(s)` : 'file not analysed';
    status.severity = s.state === 'ok' ? vscode.LanguageStatusSeverity.Information : vscode.LanguageStatusSeverity.Warning;
  });
  disposables.push(status);
  return client;
}
