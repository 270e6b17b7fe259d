import * as vscode from 'vscode';
import type { PanelDeps } from './index';

export function registerPanelSerializers(_context: vscode.ExtensionContext, _deps: PanelDeps): vscode.Disposable {
  return new vscode.Disposable(() => undefined);
}
