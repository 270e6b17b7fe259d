// Every message the extension shows in a notification goes through here: one place decides how
// each kind behaves, and tests can read what a user was told (notifications cannot be read back
// through the VS Code API).
//
// VS Code keeps an error toast that has buttons on screen until it is dismissed ("sticky"); any
// other toast hides after a while and stays in the notification centre. So a failure that a
// later event can make stale (a crashed trainer, an interrupted run, which a restart or a
// resume recovers) is shown without buttons: it never outlives the recovery on screen, and the
// status bar and the Experiments view carry the state and the actions.
import * as vscode from 'vscode';

export type Severity = 'info' | 'warning' | 'error';

/** What a user was shown. */
export interface ShownMessage {
  readonly severity: Severity;
  readonly text: string;
  readonly actions: readonly string[];
}

export class Notifier implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ShownMessage>();
  readonly onDidShow = this.emitter.event;

  info(text: string, ...actions: string[]): Thenable<string | undefined> {
    return this.show('info', text, actions);
  }

  warn(text: string, ...actions: string[]): Thenable<string | undefined> {
    return this.show('warning', text, actions);
  }

  /** An error the user must act on (a config field at fault): sticky when it has actions. */
  error(text: string, ...actions: string[]): Thenable<string | undefined> {
    return this.show('error', text, actions);
  }

  /** An error that recovery makes stale (trainer crash, interrupted run): never sticky. */
  transientError(text: string): Thenable<string | undefined> {
    return this.show('error', text, []);
  }

  /** Records a progress notification's title (the notification itself is withProgress's). */
  progress(title: string): void {
    this.emitter.fire({ severity: 'info', text: title, actions: ['Cancel'] });
  }

  dispose(): void {
    this.emitter.dispose();
  }

  private show(severity: Severity, text: string, actions: string[]): Thenable<string | undefined> {
    this.emitter.fire({ severity, text, actions });
    if (severity === 'error') return vscode.window.showErrorMessage(text, ...actions);
    if (severity === 'warning') return vscode.window.showWarningMessage(text, ...actions);
    return vscode.window.showInformationMessage(text, ...actions);
  }
}
