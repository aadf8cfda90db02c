/** The virtual-time simulator and the request-log parser it reads (pure: the log's lines are handed in). */
export {
  simulate,
  percentiles,
  type SimRequest,
  type SimulationOptions,
  type SimulationReport,
  type TierAssignment,
  type TierReport,
  type WaitPercentiles,
} from './simulator.js';
export { parseLog, parseLogLines, type LogLine, type LoggedAttributes, type ParsedLog, type QuarantinedLine } from './log.js';
