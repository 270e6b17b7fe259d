// Public API of the two webview panels (ring mapping, training curves). The extension's
// commands call these; everything else under panels/ is private to the webviews owner.
export type { PanelDeps, PlanningAccess, TrainingEvent } from './deps';
export { showRingMapping } from './mapping-panel';
export { showTrainingCurves, postTrainingEvent } from './curves-panel';
export { registerPanelSerializers } from './serializers';
export { MAPPING_VIEW_TYPE, CURVES_VIEW_TYPE } from '../../webview-contract';
