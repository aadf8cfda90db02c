/** The virtual-time simulator and the request log it reads: pure, exported by 'prio' as they are here. */
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
