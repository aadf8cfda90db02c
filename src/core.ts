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
export * from './scheduler/simulate/index.js';
// Shadow mode's pure half: records, judging, aggregation, reports, the gate.
export * from './shadow/core/index.js';
// The gate's verdict as shadow computes it under the plain name; the migration's record of it prefixed.
export type { GateVerdict } from './shadow/core/index.js';
export type { GateVerdict as MigrationGateVerdict } from './migration/index.js';
