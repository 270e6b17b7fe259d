// Which Python the torch engine runs in, from the editor's point of view: the `rpg.python`
// setting, else the interpreter the Python extension has selected for the workspace (when that
// extension is installed), else none — the trainer then uses `python3`.
import * as vscode from 'vscode';
import type { Config } from './config';

/** The part of the Python extension's API used here (ms-python.python ≥ 2023). */
interface PythonExtensionApi {
  readonly environments?: { getActiveEnvironmentPath(resource?: vscode.Uri): { readonly path: string } | undefined };
  readonly settings?: { getExecutionDetails(resource?: vscode.Uri): { readonly execCommand?: readonly string[] } };
}

export async function torchPython(config: Config): Promise<string | undefined> {
  if (config.python) return config.python;
  const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
    const active = api?.environments?.getActiveEnvironmentPath(resource)?.path;
    if (active && active !== 'python') return active;
    return api?.settings?.getExecutionDetails(resource)?.execCommand?.[0];
  } catch {
    // The Python extension failed to activate: fall back to python3, as without it.
    return undefined;
  }
}
