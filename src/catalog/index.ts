/**
 * The domain catalog and priority scale: the closed vocabulary every other part checks
 * requests against, compiled from rules/catalog.json and rules/priorities.json. Pure.
 */
export type { Catalog, Domain, LegacyLevel, LegacyLevelDef, PriorityScale, QosLevel, Tier } from './model.js';
export { LEGACY_LEVELS } from './model.js';
export { parseCatalog, parsePriorities } from './parse.js';
