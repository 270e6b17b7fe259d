// One webview panel seen from the extension: typed messages both ways, and the "ready"
// handshake. Nothing is posted before the webview has said "ready"; a hidden panel's webview
// is torn down and, when shown (or moved to another group), reloads and says "ready" again, so
// each panel answers "ready" with its whole current state and whatever a torn-down webview
// missed (VS Code drops messages to it) arrives then.
import * as vscode from 'vscode';
import { makeNonce, webviewHtml } from './html';

export interface HostOptions {
  readonly extensionUri: vscode.Uri;
  /** Bundle name in dist/: dist/<bundle>.js and dist/<bundle>.css. */
  readonly bundle: string;
  readonly title: string;
  readonly label: string;
}

/** Webview options: scripts on, and nothing loadable but our dist/ folder. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')], retainContextWhenHidden: false };
}

/** A webview that has not said "ready" this long after (re)loading gets its HTML again. */
const READY_WATCHDOG_MS = 5000;
const READY_RETRIES = 3;

export class PanelHost<ToWebview extends { type: string }, ToHost extends { type: string }> implements vscode.Disposable {
  /** "ready"s heard (a reloaded webview says it again); > 0: posts may go out. */
  private readies = 0;
  private retries = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly render: () => void;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    options: HostOptions,
    private readonly onMessage: (m: ToHost) => void | Promise<void>,
    private readonly onError: (e: unknown) => void,
    onDispose: () => void,
  ) {
    const dist = vscode.Uri.joinPath(options.extensionUri, 'dist');
    panel.webview.options = webviewOptions(options.extensionUri);
    this.render = () => {
      panel.webview.html = webviewHtml({
        cspSource: panel.webview.cspSource,
        nonce: makeNonce(),
        scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, `${options.bundle}.js`)).toString(),
        styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, `${options.bundle}.css`)).toString(),
        title: options.title,
        label: options.label,
      });
    };
    this.render();
    this.armWatchdog();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: ToHost) => {
        if (m.type === 'ready') this.readies++;
        Promise.resolve()
          .then(() => this.onMessage(m))
          .catch(this.onError);
      }),
      // Shown again: the webview reloads; watch that it comes up.
      panel.onDidChangeViewState(() => {
        if (panel.visible) this.armWatchdog();
      }),
      panel.onDidDispose(() => {
        clearTimeout(this.watchdog);
        this.disposed = true;
        this.dispose();
        onDispose();
      }),
    );
  }

  /**
   * A webview's page sometimes never gets its script (code-server's webview service worker can
   * fail the fetch after a move or a window reload, leaving "Loading…"): if no "ready" arrives
   * in time, set the HTML again, which reloads the page.
   */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    const seen = this.readies;
    this.watchdog = setTimeout(() => {
      if (this.disposed || !this.panel.visible || this.readies !== seen || this.retries >= READY_RETRIES) return;
      this.retries++;
      this.onError(new Error(`the webview did not say "ready" within ${READY_WATCHDOG_MS} ms: reloading it (${this.retries}/${READY_RETRIES})`));
      this.render();
      this.armWatchdog();
    }, READY_WATCHDOG_MS);
  }

  /** Ready and visible: posts reach the webview now. */
  get live(): boolean {
    return this.readies > 0 && !this.disposed && this.panel.visible;
  }

  /** Posts once the webview has said "ready"; false (not sent) before. A post to a webview
   * torn down meanwhile is lost, harmlessly: its successor's "ready" gets the whole state. */
  post(message: ToWebview): boolean {
    if (this.readies === 0 || this.disposed) return false;
    void this.panel.webview.postMessage(message);
    return true;
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    if (!this.disposed) {
      this.disposed = true;
      this.panel.dispose();
    }
  }
}
