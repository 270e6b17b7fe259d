// Public API of the webview panels (ring mapping, training curves, compare runs). The extension's
// commands call these; everything else under panels/ is private to the webviews owner.
export type { PanelDeps, PlanningAccess, RunsSource, TrainingEvent } from './deps';
export { showRingMapping } from './mapping-panel';
export { showTrainingCurves, postTrainingEvent } from './curves-panel';
export { showCompareRuns } from './compare-panel';
export { registerPanelSerializers } from './serializers';
export { MAPPING_VIEW_TYPE, CURVES_VIEW_TYPE, COMPARE_VIEW_TYPE } from '../../webview-contract';
