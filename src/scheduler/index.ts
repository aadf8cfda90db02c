/**
 * The scheduler: a pure dispatch core (./core), the runtime adapter that puts it on Node's
 * event loop, the capacity file, and the virtual-time simulator.
 */
export * from './core/index.js';
export { SchedulerRuntime, SchedulingRejected, TaskSignal, type Admission, type RunOptions, type RuntimeOptions } from './runtime.js';
export { parseCapacity, schedulerConfigFor, type Capacity, type VariantCapacity } from './capacity.js';
export * from './simulate/index.js';
