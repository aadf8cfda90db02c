/**
 * The three AppConfig configuration profiles as documents: the tier rule set (today's
 * rules/*.json format, with a `version` label), the account overrides and the rollout flags.
 * Pure: parse and validate each (errors are ConfigError with file, JSON pointer and message),
 * compose rules with overrides, and build the immutable snapshot a provider swaps in.
 */
export { compileComposed, composeRuleSet } from './compose.js';
export { FLAGS_SCHEMA_VERSION, parseFlagsDocument, patchFlagsDocument } from './flags.js';
export { parseOverridesDocument, type OverridesDocument } from './overrides.js';
export { buildSnapshot, compileLegacy, createCompileCache, type CompileCache, type DocumentInput, type LegacyMapping, type SnapshotInputs, type SnapshotMeta } from './snapshot.js';
