/** `prio load`: open-loop load over `prio serve` fleets with sticky sessions. See docs/load.md. */
export { runLoad, TargetUnavailable, type LatencySummary, type LoadMode, type LoadOptions, type LoadReport, type MisRankedSession, type Weighted } from './generator.js';
export { NONE, parseMix } from './mix.js';
