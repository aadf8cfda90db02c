/**
 * The AppConfig deploy pipeline (`prio appconfig init|validate|publish|deploy|watch|rollback|
 * status|history|diff`) over the real AWS SDK client. The decisions — what init must create,
 * which version already holds a document, what a rollback goes back to, what a watch prints —
 * are pure functions; the SDK calls around them are kept thin.
 */
export { connect, DEFAULT_MAX_ATTEMPTS, endpointFrom, type Connection, type ConnectionOptions } from './client.js';
export { describeAwsError, PipelineError, type FailureKind } from './errors.js';
export { describeAction, planInit, type DesiredSetup, type ExistingSetup, type InitAction, type InitPlan } from './init.js';
export {
  describeDeployment,
  deploymentRecord,
  getDeployment,
  inProgress,
  startDeployment,
  stopDeployment,
  isRunning,
  listDeployments,
  liveVersions,
  planRollback,
  TERMINAL_STATES,
  type DeploymentRecord,
  type LiveVersion,
  type RollbackPlan,
} from './deployments.js';
export {
  assemble,
  isProfileName,
  judgeCandidate,
  PROFILE_NAMES,
  PROFILE_SCHEMA_FILES,
  type ConfigurationDocuments,
  type DocumentIssue,
  type Judgement,
  type ProfileName,
} from './profiles.js';
export { inlineSchema } from './schema.js';
export { resolveApplication, resolveEnvironment, resolveProfile, resolveStrategy, type EnvironmentInfo, type Named } from './resolve.js';
export { ALL_AT_ONCE, parseStrategies, strategyDifferences, strategyNameFor, type StrategySpec } from './strategies.js';
export { fetchVersionDocument, publishVersion, commitIn, digestIn, findIdenticalVersion, latestVersion, sha256Hex, versionDescription, type PublishResult, type VersionSummary } from './versions.js';
export { followDeployment, formatWatchLine, FRESH, observe, terminalExitCode, type FollowResult, type WatchLine, type WatchMemory } from './watch.js';
export {
  currentCommit,
  deploy,
  deployedDocuments,
  diffVersions,
  documentFrom,
  environmentStatus,
  history,
  init,
  profileSchemas,
  publish,
  resolveTarget,
  rollback,
  shippedDocuments,
  shippedStrategies,
  status,
  STRATEGIES_FILE,
  validate,
  watchTarget,
  type EnvironmentStatus,
  type InitResult,
  type RollbackResult,
  type ValidateResult,
} from './operations.js';
