/** The scheduler's pure core: weighted dispatch, concurrency, throttling, shedding, reserved capacity. */
export { DispatchCore, stridesFor, type SchedulerCounters } from './dispatch-core.js';
export { TokenBucket } from './token-bucket.js';
export { TERMINAL_STATES } from './types.js';
export type {
  AccountRate,
  SchedulerConfig,
  SchedulerEventKind,
  SchedulerListener,
  ShedReason,
  SubmitRequest,
  TerminalState,
  Ticket,
  TicketState,
  VariantLimits,
} from './types.js';
