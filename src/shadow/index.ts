/**
 * Shadow mode: replays recorded traffic against the baseline and the candidate rule sets,
 * reports the difference, and gates the rollout on it. See docs/shadow.md.
 *
 * Functional core (core/, no I/O, held to it by the lint): record, aggregate, reservoir, judge,
 * replay, report, gate, render-md, render-html, generate, token-cache, coverage. The port
 * between them: source.ts (what a record source yields). Imperative shell: sources/ (where
 * records come from), sinks/ (files, progress), parallel/ (judging in worker threads), runner
 * and merge (one run from source to files).
 */
export * from './core/index.js';
export { fileSource, isGzipPath, STDIN_PATH, type FileSourceOptions, type ProgressReporting, type SourceProgress } from './sources/file.js';
export { createProgress, type ProgressOptions, type ProgressReporter } from './sinks/progress.js';
export { writeNdjson } from './sinks/ndjson.js';
export { ndjsonLines, rawNdjsonLines, readNdjsonLines, type LineReadDamage, type NumberedLine, type RawLine } from './sources/lines.js';
export { CHECKPOINT_FORMAT, QuarantineFile, readCheckpoint, REPORT_FILES, writeAtomically, writeReports, type WrittenReports } from './sinks/report-files.js';
export { interruptible, runReplay, type NamedRuleSet, type ReplayRunOptions, type ReplayRunResult } from './runner.js';
export { MergeRefused, mergeReports, type MergeResult } from './merge.js';
export {
  defaultWorkerCount,
  JOB_RECORDS,
  replayInParallel,
  type ParallelOptions,
  type ParallelReplayOptions,
  type ParallelReplayResult,
} from './parallel/pool.js';
export { judgeParts, keyMaterialOf, readJudgeSpec, type JudgeParts, type JudgeSpec, type JudgeSpecFiles, type TokenKeyMaterial } from './parallel/spec.js';
export { kafkaSource, KafkaSourceError, type KafkaSource, type KafkaSourceOptions, type KafkaWindow, type PartitionWindow } from './sources/kafka.js';
export { describeKafkaError, kafkaClient, parseBrokers, type KafkaConnection, type KafkaLog } from './sources/kafka-client.js';
export {
  KAFKA_PASSWORD_ENV,
  KAFKA_USERNAME_ENV,
  KafkaSecurityError,
  loadKafkaSecurity,
  SASL_MECHANISMS,
  type KafkaSasl,
  type KafkaSecurity,
  type KafkaSecuritySettings,
  type KafkaTls,
  type SaslMechanism,
} from './sources/kafka-security.js';
export { ensureTopic, produceLog, type ProduceLogOptions, type ProduceLogResult, type SkippedLine } from './sources/kafka-produce.js';
export { CODEC_NAMES as KAFKA_CODECS, type KafkaCodec } from './sources/kafka-codecs.js';
