// Helpers shared by the extension-host suites: the extension's API, the fixture workspace,
// and waiting for things that happen asynchronously (runs, trees, diagnostics).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RpgStudioApi } from '../../src/extension/main';
import type { RunEvent } from '../../src/extension/trainer';
import type { ShownMessage } from '../../src/extension/notify';

export const EXTENSION_ID = 'rpg-studio.rpg-studio';

export async function rpgApi(): Promise<RpgStudioApi> {
  const ext = vscode.extensions.getExtension<RpgStudioApi | undefined>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not installed`);
  const api = await ext.activate();
  if (!api) throw new Error('activate() returned no API (activation failed: see the RPG Studio log)');
  return api;
}

export function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the e2e workspace has no folder');
  return folder.uri.fsPath;
}

export function fixtureUri(name: string): vscode.Uri {
  return vscode.Uri.file(path.join(workspaceDir(), name));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

/** The first run event of `runId` that matches, from now on. */
export function nextRunEvent<K extends RunEvent['kind']>(api: RpgStudioApi, runId: () => string | undefined, kinds: readonly K[], timeoutMs = 120_000): Promise<Extract<RunEvent, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`no ${kinds.join('/')} event for run ${runId()} within ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = api.onRunEvent((e) => {
      if (e.runId === runId() && (kinds as readonly string[]).includes(e.kind)) {
        clearTimeout(timer);
        sub.dispose();
        resolve(e as Extract<RunEvent, { kind: K }>);
      }
    });
  });
}

/** Labels of a tree, depth first ("label — description"), expanding every node. */
export async function treeLines<T>(provider: vscode.TreeDataProvider<T>, depth = 4): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (node: T | undefined, level: number): Promise<void> => {
    const children = (await provider.getChildren(node)) ?? [];
    for (const child of children) {
      const item = await provider.getTreeItem(child);
      const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
      lines.push(`${'  '.repeat(level)}${label}${item.description ? ` — ${String(item.description)}` : ''}`);
      if (level < depth && item.collapsibleState !== vscode.TreeItemCollapsibleState.None) await walk(child, level + 1);
    }
  };
  await walk(undefined, 0);
  return lines;
}

/** The next notification whose text matches, from now on (what a user was told). */
export function nextMessage(api: RpgStudioApi, text: RegExp, timeoutMs = 120_000): Promise<ShownMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`no notification matching ${text} within ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = api.onDidShowMessage((m) => {
      if (!text.test(m.text)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(m);
    });
  });
}
