/**
 * `prio appconfig local`: an AppConfig-compatible endpoint (control plane + AppConfigData) for
 * rehearsals and tests, spoken to by the unmodified AWS SDK clients through `endpoint`.
 */
export { startLocalAppConfig, type LocalAppConfig, type LocalAppConfigOptions } from './server.js';
export type { LocalAdmin, RolledBack } from './admin.js';
export type { Fault, FaultKind, FaultSpec } from './faults.js';
export { FAULT_KINDS, FaultTable, parseFaultSpec } from './faults.js';
export type { AlarmState, Quotas } from './model.js';
export { DEFAULT_QUOTAS, PREDEFINED_STRATEGIES } from './model.js';
export { StateFileError, STATE_FILE } from './store.js';
export {
  deploymentAt,
  milestones,
  rolloutSteps,
  scaledMinutes,
  servesNewVersion,
  sessionBucket,
  type DeploymentEvent,
  type DeploymentEventType,
  type DeploymentState,
  type DeploymentStop,
  type DeploymentTimeline,
  type DeploymentView,
  type GrowthType,
  type RolloutStrategy,
  type TriggeredBy,
} from './deployment.js';
