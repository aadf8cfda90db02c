/**
 * The request record as other parts read it: its type and its one validator, without the
 * shadow's sources, sinks and workers (importing src/shadow/index.ts would load Kafka clients and
 * worker threads). `sched simulate` reads its logs through these. Pure: re-exports core/record.ts.
 */
export { checkRecord, MAX_RECORD_BYTES, recordTimeMs, timestampMs, validateRecord, type ObservedOutcome, type RequestRecord } from './core/record.js';
