// Restores the panels after VS Code restarts (package.json: onWebviewPanel:<viewType>).
import * as vscode from 'vscode';
import { COMPARE_VIEW_TYPE, CompareViewState, CURVES_VIEW_TYPE, CurvesViewState, MAPPING_VIEW_TYPE, MappingViewState } from '../../webview-contract';
import { reviveCompareRuns } from './compare-panel';
import { reviveTrainingCurves } from './curves-panel';
import type { PanelDeps } from './deps';
import { reviveRingMapping } from './mapping-panel';

export function registerPanelSerializers(_context: vscode.ExtensionContext, deps: PanelDeps): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.window.registerWebviewPanelSerializer(MAPPING_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        reviveRingMapping(deps, panel, state as MappingViewState | undefined);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(CURVES_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        reviveTrainingCurves(deps, panel, state as CurvesViewState | undefined);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(COMPARE_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        reviveCompareRuns(deps, panel, state as CompareViewState | undefined);
      },
    }),
  );
}
