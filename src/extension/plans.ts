// Plans of open configs, computed from the editor's unsaved text, debounced while the user
// types and cached per document version. The Layers view and the plan CodeLens read from here,
// so one edit costs one plan. Planning is pure (config → dataset shape → model → plan, no
// tensors), so it runs here in the extension host with the trainer's own code (planFor): no
// process starts for it, and it works the same in Restricted Mode.
import * as vscode from 'vscode';
import type { TrainerErrorData } from '../protocol';
import type { ConfigRef, PlanResult } from '../core/experiment/types';
import { REQUEST_FAILED } from '../protocol';
import { toResponseError } from '../protocol/errors';
import { planFor } from '../core/experiment/planning';
import type { Config } from './config';

/**
 * The trainer's `plan` answer, computed in this process (never loads tfjs). Throws what the
 * request would: a ResponseError with code REQUEST_FAILED and the field at fault in `data`.
 */
export async function planInProcess(ref: ConfigRef): Promise<PlanResult> {
  try {
    return planFor(ref);
  } catch (err) {
    throw toResponseError(err);
  }
}

export type PlanOutcome =
  | { readonly ok: true; readonly plan: PlanResult; readonly version: number }
  | {
      readonly ok: false;
      readonly message: string;
      readonly field?: string;
      readonly version: number;
      readonly transient?: boolean;
      /** The document's last plan that worked (a typo or half-typed edit keeps it, marked stale). */
      readonly stale?: PlanResult;
    };

export class PlanService implements vscode.Disposable {
  private readonly cache = new Map<string, PlanOutcome>();
  /** Per document: the newest plan that succeeded, shown (stale) while the text does not plan. */
  private readonly lastGood = new Map<string, { version: number; plan: PlanResult }>();
  private readonly inflight = new Map<string, { version: number; promise: Promise<PlanOutcome> }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly disposables: vscode.Disposable[] = [];

  /** A document's plan changed (a new outcome is cached). */
  readonly onDidChangePlan = this.changed.event;

  constructor(private readonly config: Config) {
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (isConfigDocument(e.document) && e.contentChanges.length) this.schedule(e.document);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        const key = d.uri.toString();
        this.cache.delete(key);
        this.lastGood.delete(key);
        clearTimeout(this.timers.get(key));
        this.timers.delete(key);
      }),
    );
  }

  /** The cached outcome for the document's current version, if any. */
  peek(document: vscode.TextDocument): PlanOutcome | undefined {
    const hit = this.cache.get(document.uri.toString());
    // A lost connection (trainer restarted) is no answer about the config: ask again.
    return hit && hit.version === document.version && !(!hit.ok && hit.transient) ? hit : undefined;
  }

  /** The last outcome computed for the document, of any version (shown while a new one runs). */
  latest(document: vscode.TextDocument): PlanOutcome | undefined {
    return this.cache.get(document.uri.toString());
  }

  /** The plan of the document's current text (from cache, or one request). */
  get(document: vscode.TextDocument): Promise<PlanOutcome> {
    const key = document.uri.toString();
    const cached = this.peek(document);
    if (cached) return Promise.resolve(cached);
    const running = this.inflight.get(key);
    if (running && running.version === document.version) return running.promise;
    const version = document.version;
    const promise = this.compute(document, version).then((computed) => {
      if (this.inflight.get(key)?.promise === promise) this.inflight.delete(key);
      const good = this.lastGood.get(key);
      let outcome = computed;
      if (computed.ok) {
        if (!good || good.version <= version) this.lastGood.set(key, { version, plan: computed.plan });
      } else if (good && !computed.transient) {
        outcome = { ...computed, stale: good.plan };
      }
      const current = this.cache.get(key);
      if (!current || current.version <= version) {
        this.cache.set(key, outcome);
        this.changed.fire(document.uri);
      }
      return outcome;
    });
    this.inflight.set(key, { version, promise });
    return promise;
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }

  private schedule(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        void this.get(document);
      }, this.config.planDelayMs),
    );
  }

  private async compute(document: vscode.TextDocument, version: number): Promise<PlanOutcome> {
    const ref = { text: document.getText(), ...(document.uri.scheme === 'file' ? { configPath: document.uri.fsPath } : {}) };
    try {
      return { ok: true, plan: await planInProcess(ref), version };
    } catch (err) {
      const data = (err as { data?: TrainerErrorData }).data;
      const transient = (err as { code?: unknown }).code !== REQUEST_FAILED;
      return { ok: false, message: (err as Error).message, ...(data?.field ? { field: data.field } : {}), version, ...(transient ? { transient } : {}) };
    }
  }
}

export function isConfigDocument(document: vscode.TextDocument): boolean {
  return document.languageId === 'rpg-config' || document.uri.path.endsWith('.rpg.json');
}
