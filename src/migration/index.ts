/**
 * The migration as an event-sourced aggregate: definitions, the pure decider, projections,
 * and the application service and controller that run it against a store passed in.
 * Nothing here performs I/O itself.
 */
export type * from './model.js';
export { decide, evolve, fold, initialState, nextStep, formatDuration, ROLLBACK_TO_START } from './decider.js';
export { readersAcceptBoth, withDualReaders, applyFlags } from './flags.js';
export { parseMigrationDefinition, type DefinitionChecks } from './definition.js';
export { statusView, historyView, stateAt, eventsUpTo, describeFlags, type MigrationStatusView, type HistoryEntry, type StageStatus } from './projections.js';
export {
  handleCommand,
  listMigrations,
  loadMigration,
  rebuildMigration,
  streamOf,
  MIGRATION_STREAM_PREFIX,
  TooManyConflicts,
  type CommandContext,
  type CommandOutcome,
  type LoadedMigration,
} from './service.js';
export { backoffDelay, DEFAULT_BACKOFF, DEFAULT_MAX_ATTEMPTS, type BackoffPolicy } from './retry.js';
export { runController, type ControllerDeps, type ControllerOptions, type ControllerReport } from './controller.js';
export { parseEvidence, ALARM_STATES, type EvidenceInput } from './evidence.js';
