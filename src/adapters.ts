/**
 * `import … from 'prio/adapters'`: the shell around the core ('prio') — event stores (file,
 * DynamoDB) and the lease, shadow's record sources and sinks (NDJSON files, Kafka) and its
 * replay runner, the AppConfig pipeline, provider and local endpoint, and the configuration
 * loaders that find the rule sets shipped in the package.
 */
export * from './eventstore/index.js';
export * from './appconfig/index.js';
export * from './shadow/index.js';
// Both the AppConfig provider and shadow have a file source: shadow's under the plain name.
export type { FileSourceOptions } from './shadow/index.js';
export type { FileSourceOptions as ConfigFileSourceOptions } from './appconfig/index.js';
export { SchedulerRuntime, SchedulingRejected, type RunOptions, type RuntimeOptions } from './scheduler/runtime.js';
export * from './config/index.js';
