// Starts the real bundled language server (dist/server.js) over stdio and speaks LSP to it, for
// the integration tests, the fuzz test and the latency benchmark.
import { spawn, ChildProcess } from 'node:child_process';
import { ensureBuilt } from '../helpers/build';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { CodeAction, CompletionItem, CompletionList, Diagnostic, Hover, Position, PublishDiagnosticsParams } from 'vscode-languageserver';
import { AnalysisStatus, AnalysisStatusNotification } from '../../src/server/protocol';

export const REPO = path.resolve(__dirname, '../..');
export const SERVER_JS = path.join(REPO, 'dist', 'server.js');

/** Builds dist/server.js when it is missing or older than any source. */
export function ensureServerBuilt(): void {
  ensureBuilt('server');
}

export const fileUri = (file: string): string => pathToFileURL(file).href;

export interface StartOptions {
  readonly initializationOptions?: Record<string, unknown>;
  readonly workspaceFolder?: string;
}

export class ServerHarness {
  private readonly latest = new Map<string, PublishDiagnosticsParams>();
  private readonly waiters: { uri: string; version: number | undefined; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  readonly statuses: AnalysisStatus[] = [];
  /** Every publishDiagnostics received, in order. */
  readonly published: PublishDiagnosticsParams[] = [];
  private readonly versions = new Map<string, number>();
  exitCode: number | null | undefined;

  private constructor(
    readonly proc: ChildProcess,
    readonly connection: MessageConnection,
  ) {
    connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.latest.set(p.uri, p);
      this.published.push(p);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.uri === p.uri && (w.version === undefined || w.version === p.version)) {
          this.waiters.splice(i, 1);
          w.resolve(p);
        }
      }
    });
    connection.onNotification(AnalysisStatusNotification, (s: AnalysisStatus) => {
      this.statuses.push(s);
    });
    // Requests the server may send (configuration, registrations): answer like a plain client.
    connection.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => null));
    connection.onRequest('client/registerCapability', () => null);
    proc.on('exit', (code) => (this.exitCode = code));
  }

  static async start(options: StartOptions = {}): Promise<ServerHarness> {
    ensureServerBuilt();
    const proc = spawn(process.execPath, [SERVER_JS, '--stdio'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stderr!.resume();
    const connection = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    const harness = new ServerHarness(proc, connection);
    connection.listen();
    const folder = options.workspaceFolder;
    await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: folder ? fileUri(folder) : null,
      workspaceFolders: folder ? [{ uri: fileUri(folder), name: path.basename(folder) }] : null,
      capabilities: {},
      initializationOptions: { debounceMs: 0, ...options.initializationOptions },
    });
    await connection.sendNotification('initialized', {});
    return harness;
  }

  get alive(): boolean {
    return this.exitCode === undefined && !this.proc.killed;
  }

  /** Resolves with the next publishDiagnostics for `uri` (at `version`, if given). */
  nextDiagnostics(uri: string, version?: number, timeoutMs = 10_000): Promise<PublishDiagnosticsParams> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} v${version} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ uri, version, resolve: (p) => (clearTimeout(timer), resolve(p)) });
    });
  }

  async open(uri: string, text: string, timeoutMs = 10_000): Promise<Diagnostic[]> {
    this.versions.set(uri, 1);
    const next = this.nextDiagnostics(uri, 1, timeoutMs);
    await this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'rpg-config', version: 1, text } });
    return (await next).diagnostics;
  }

  /** Replaces the whole text; resolves with the diagnostics of the new version. */
  async change(uri: string, text: string): Promise<Diagnostic[]> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    const next = this.nextDiagnostics(uri, version);
    await this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    return (await next).diagnostics;
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  hover(uri: string, position: Position): Promise<Hover | null> {
    return this.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position });
  }

  async completion(uri: string, position: Position): Promise<CompletionItem[]> {
    const r: CompletionItem[] | CompletionList | null = await this.connection.sendRequest('textDocument/completion', { textDocument: { uri }, position });
    return !r ? [] : Array.isArray(r) ? r : r.items;
  }

  codeActions(uri: string, diagnostics: Diagnostic[]): Promise<CodeAction[]> {
    const range = diagnostics[0]?.range ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    return this.connection.sendRequest('textDocument/codeAction', { textDocument: { uri }, range, context: { diagnostics } });
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.connection.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      await this.connection.sendNotification('exit');
    } catch {
      // Already gone.
    }
    await new Promise<void>((resolve) => {
      if (this.exitCode !== undefined) return resolve();
      const timer = setTimeout(() => (this.proc.kill(), resolve()), 2000);
      this.proc.once('exit', () => (clearTimeout(timer), resolve()));
    });
    this.connection.dispose();
  }
}

/** Zero-based position of the `occurrence`-th match of `needle` in `text` (offset inside it). */
export function positionOf(text: string, needle: string, inside = 0, occurrence = 0): Position {
  let at = -1;
  for (let i = 0; i <= occurrence; i++) at = text.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`"${needle}" not in text`);
  const offset = at + inside;
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}
