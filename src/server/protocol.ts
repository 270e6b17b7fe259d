// Messages the RPG language server adds to LSP, declared once for the server and its clients
// (the extension's status item, the latency benchmark, the integration tests).
import { NotificationType } from 'vscode-jsonrpc';

export interface AnalysisStatus {
  readonly uri: string;
  readonly version: number;
  /** Time spent analysing this version (parse, schema, plan, rules), excluding the debounce. */
  readonly analysisMs: number;
  readonly diagnostics: number;
  /** The analysis was skipped ("too-large", "too-deep") or ran ("ok"). */
  readonly state: 'ok' | 'too-large' | 'too-deep';
}

/** Sent after every publishDiagnostics: the server's own timing, so clients never guess. */
export const AnalysisStatusNotification = new NotificationType<AnalysisStatus>('rpg/analysisStatus');
