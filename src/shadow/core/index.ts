/**
 * Shadow mode's pure half, the public surface of shadow/core: records, judging, aggregation,
 * reports, the gate, and the source port (what a record source yields). No I/O: 'prio'
 * re-exports it whole; shadow/index.ts adds the shell (sources, sinks, runner, merge).
 */
export type { Checkpoint, Coverage, RecordSource, SourceDamage, SourcePosition, SourceRecord } from '../source.js';
export { SourceInterruptedError } from '../source.js';
export { checkRecord, daysFromCivil, MAX_RECORD_BYTES, recordTimeMs, type ObservedOutcome, type RequestRecord } from './record.js';
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
  type BreakdownName,
  type JsonForm,
  type OutcomeCounts,
  type OutcomeCountsJson,
  type OutcomeKind,
  type SampledRecord,
  type ShadowAggregate,
} from './aggregate.js';
export { emptyReservoir, mergeReservoirs, offer, seededHash, wouldAccept, type Reservoir, type SampleItem } from './reservoir.js';
export { createJudge, observedPriorityLabel, type Judge, type JudgeDeps, type RuleSetPort } from './judge.js';
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
} from './replay.js';
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
  type FidelityStatus,
  type RuleSetInfo,
  type RunInfo,
  type ShadowReport,
  type TopEntry,
} from './report.js';
export { resumeMismatch, type ResumeIdentity } from './resume.js';
export { evaluateGate, parseGate, type GateCheck, type GateSpec, type GateVerdict } from './gate.js';
export { renderMarkdown } from './render-md.js';
export { renderHtml } from './render-html.js';
export { DEFAULT_START_MS, generateRecords, type GenerateDeps, type GenerateOptions } from './generate.js';
export { checkToken, createTokenChecker, tokenMismatch, type TokenChecker, type TokenVerdict } from './token-cache.js';
export { coverageFromJson, overlapOf, unionCoverage } from './coverage.js';
