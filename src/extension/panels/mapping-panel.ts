import type * as vscode from 'vscode';
import type { PanelDeps } from './index';

export async function showRingMapping(_deps: PanelDeps, _configUri: vscode.Uri): Promise<void> {
  throw new Error('not implemented yet');
}
