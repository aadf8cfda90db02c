/**
 * `import … from 'prio'`: the pure core, no I/O — the domain catalog, the rules, session tokens,
 * the scheduler's dispatch core and its virtual-time simulator, the migration decider, and shadow
 * judging and aggregation. Each part's public names, as its index.ts exports them; the parts
 * that read files, talk to Kafka, DynamoDB or AppConfig are in 'prio/adapters'.
 */
export * from './catalog/index.js';
export * from './rules/index.js';
export * from './tokens/index.js';
export * from './migration/index.js';
export * from './scheduler/core/index.js';
// Names two parts both use, for different things: the rules' and the tokens' own under the
// plain name, the migration's flag values prefixed.
export type { ServiceTierMode } from './rules/index.js';
export type { PriorityScheme, TokenReadMode, TokenWriteMode } from './tokens/index.js';
export type {
  PriorityScheme as MigrationPriorityScheme,
  ServiceTierMode as MigrationServiceTierMode,
  TokenReadMode as MigrationTokenReadMode,
  TokenWriteMode as MigrationTokenWriteMode,
} from './migration/index.js';
export { parseCapacity, schedulerConfigFor, type Capacity, type VariantCapacity } from './scheduler/capacity.js';
export {
  simulate,
  percentiles,
  type SimRequest,
  type SimulationOptions,
  type SimulationReport,
  type TierAssignment,
  type TierReport,
  type WaitPercentiles,
} from './scheduler/simulate/simulator.js';
export { parseLog, parseLogLines, type LogLine, type LoggedAttributes, type ParsedLog, type QuarantinedLine } from './scheduler/simulate/log.js';
// Shadow mode's pure half: records, judging, aggregation, reports, the gate.
export type { Checkpoint, Coverage, RecordSource, SourceDamage, SourcePosition, SourceRecord } from './shadow/source.js';
export { SourceInterruptedError } from './shadow/source.js';
export { checkRecord, daysFromCivil, MAX_RECORD_BYTES, recordTimeMs, type ObservedOutcome, type RequestRecord } from './shadow/core/record.js';
export {
  aggregateFromJson,
  aggregateToJson,
  AggregateFormatError,
  compared,
  emptyAggregate,
  mergeAggregates,
  OUTCOME_KINDS,
  type AggregateJson,
  type AggregateShape,
  type OutcomeKind,
  type SampledRecord,
  type ShadowAggregate,
} from './shadow/core/aggregate.js';
export { emptyReservoir, mergeReservoirs, offer, seededHash, wouldAccept, type Reservoir, type SampleItem } from './shadow/core/reservoir.js';
export { createJudge, observedPriorityLabel, type Judge, type JudgeDeps, type RuleSetPort } from './shadow/core/judge.js';
export {
  admit,
  countRecord,
  examine,
  excerptOf,
  ingest,
  Quarantined,
  QUARANTINE_REASONS,
  Rejected,
  replay,
  sourceErrorReason,
  type QuarantineEntry,
  type QuarantineReason,
  type QuarantineSink,
  type ReplayOptions,
} from './shadow/core/replay.js';
export {
  aggregateFromReport,
  buildReport,
  DEFAULT_FIDELITY_FLOOR,
  describeDamage,
  REPORT_FORMAT,
  serializeReport,
  type BuildReportOptions,
  type DamageSection,
  type FidelitySection,
  type RunInfo,
  type ShadowReport,
  type TopEntry,
} from './shadow/core/report.js';
export { resumeMismatch, type ResumeIdentity } from './shadow/core/resume.js';
export { evaluateGate, parseGate, type GateCheck, type GateSpec, type GateVerdict } from './shadow/core/gate.js';
export { renderMarkdown } from './shadow/core/render-md.js';
export { renderHtml } from './shadow/core/render-html.js';
export { DEFAULT_START_MS, generateRecords, type GenerateDeps, type GenerateOptions } from './shadow/core/generate.js';
export { checkToken, createTokenChecker, tokenMismatch, type TokenChecker, type TokenVerdict } from './shadow/core/token-cache.js';
export { coverageFromJson, overlapOf, unionCoverage } from './shadow/core/coverage.js';
