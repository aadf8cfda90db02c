/**
 * The phased rollout runner (`prio rollout run|status|rollback`): a pure planner choosing the
 * next action from the migration's state and what is observed, and the shell that performs it
 * through ports — AppConfig environments, shadow evidence, an alarm source, the event store
 * under a lease with fencing tokens. See docs/rollout.md.
 */
export { nextAction, rollbackTarget, sameFlags, stagesToReconcile, type AlarmObservation, type Observations, type PlannerOptions, type RolloutAction, type StageObservation } from './planner.js';
export { countersOf, judgeAlarm, p99Of, parsePrometheusText, sumCounters, windowOf, EMPTY_COUNTERS, type AlarmReading, type FleetCounters, type Sample } from './alarms.js';
export { MetricsAlarmSource, alarmStates, type AlarmRead, type AlarmSource } from './alarm-source.js';
export { CloudWatchAlarmSource, cloudWatchName, type CloudWatchSettings } from './cloudwatch.js';
export { parseRolloutSettings, type RequestLogSettings, type RolloutSettings, type StageSettings } from './settings.js';
export { scaledClock, realMsUntil } from './clock.js';
export { gatherEvidence, RuleSetsByVersion, tailLines, type EvidenceRequest, type GatheredEvidence } from './evidence.js';
export { StageEnvironments, flagsDocument } from './stages.js';
export { runRollout, deploymentMarker, TRANSIENT_RETRY, pauseBeforeAppend, PAUSE_BEFORE_APPEND_ENV, RolloutError, ALL_AT_ONCE_STRATEGY, type RunnerDeps, type RunnerEvent, type RunnerOptions, type RunOutcome, type StagePort } from './runner.js';
export { planView, rolloutStatus, type PlannedStep, type RolloutPlanView, type RolloutStatusView } from './views.js';
export { buildRolloutReport, renderRolloutHtml, renderRolloutMarkdown, type LoadSummary, type RolloutReport, type StoredMigrationEvent, type TimelineEntry } from './report.js';
