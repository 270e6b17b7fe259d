// Where runs live when the extension does not say: the `rpg.runsFolder` setting of the
// config's workspace folder (default "runs"), resolved against that folder.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

export function defaultRunsDir(near?: vscode.Uri): string | undefined {
  const folder = (near && vscode.workspace.getWorkspaceFolder(near)) ?? vscode.workspace.workspaceFolders?.[0];
  const setting = (vscode.workspace.getConfiguration('rpg', folder?.uri).get<string>('runsFolder', 'runs') ?? 'runs').trim() || 'runs';
  const expanded = setting.startsWith('~') ? path.join(os.homedir(), setting.slice(1)) : setting;
  if (path.isAbsolute(expanded)) return expanded;
  const base = folder?.uri.fsPath ?? (near ? path.dirname(near.fsPath) : undefined);
  return base ? path.join(base, expanded) : undefined;
}
