// Starts the `.rpg.json` language server (dist/server.js) over Node IPC. Diagnostics, hover,
// completion and quick fixes come from it; the extension adds nothing to them.
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';
import { AnalysisStatusNotification } from '../server/protocol';

export const LANGUAGE_ID = 'rpg-config';

/** Starts the client; `disposables` receives what must be disposed with it. */
export async function startLanguageClient(extensionUri: vscode.Uri, log: vscode.LogOutputChannel, disposables: vscode.Disposable[]): Promise<LanguageClient> {
  const module = vscode.Uri.joinPath(extensionUri, 'dist', 'server.js').fsPath;
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
  };
  // Sweeps (finished runs) feed the server's accuracy predictions.
  const watchers = [vscode.workspace.createFileSystemWatcher('**/*.rpg.json'), vscode.workspace.createFileSystemWatcher('**/run.json')];
  disposables.push(...watchers);
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: LANGUAGE_ID }],
    synchronize: {
      configurationSection: 'rpg.languageServer',
      fileEvents: watchers,
    },
    outputChannel: log,
    traceOutputChannel: log,
  };
  const client = new LanguageClient('rpg.languageServer', 'RPG Language Server', serverOptions, clientOptions);
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
