/**
 * The scheduler: a pure dispatch core (./core), the runtime adapter that puts it on Node's
 * event loop, the capacity file, and the virtual-time simulator.
 */
export * from './core/index.js';
export { SchedulerRuntime, SchedulingRejected, TaskSignal, type RunOptions, type RuntimeOptions } from './runtime.js';
export { parseCapacity, schedulerConfigFor, type Capacity, type VariantCapacity } from './capacity.js';
export {
  simulate,
  percentiles,
  type SimRequest,
  type SimulationOptions,
  type SimulationReport,
  type TierAssignment,
  type TierReport,
  type WaitPercentiles,
} from './simulate/simulator.js';
export { parseLog, parseLogLines, type LogLine, type LoggedAttributes, type ParsedLog, type QuarantinedLine } from './simulate/log.js';
