/**
 * The migration aggregate's vocabulary: the plan (a validated definition), the commands an
 * operator or controller sends, the events that record what happened, and the state folded
 * from them. Plain JSON-shaped data only, so events serialize as-is and states compare deeply.
 */

export type PriorityScheme = 'legacy' | 'dual' | 'tiered';
export type TokenReadMode = 'v1' | 'dual' | 'v2';
export type TokenWriteMode = 'v1' | 'v2';
export type ServiceTierMode = 'ignored' | 'observed' | 'enforced';

/** The configuration a stage runs with; each step sets some of these. */
export interface Flags {
  readonly priorityScheme: PriorityScheme;
  readonly tokenReadMode: TokenReadMode;
  readonly tokenWriteMode: TokenWriteMode;
  readonly serviceTierMode: ServiceTierMode;
  readonly rulesVersion: string;
}

export interface Gate {
  /** Gate file the shadow report was judged against. */
  readonly shadowGate: string;
  /** Alarms that must be OK in the evidence. */
  readonly alarms: readonly string[];
}

export interface Step {
  readonly id: string;
  readonly phase: number;
  readonly stage: string;
  readonly description?: string;
  readonly bakeMinutes: number;
  readonly gate: Gate;
  readonly flags: Partial<Flags>;
}

export interface Phase {
  readonly number: number;
  readonly name: string;
  readonly description: string;
}

export interface Stage {
  readonly name: string;
  readonly description?: string;
}

/** What a fleet's /metrics are checked for, per alarm. */
export type AlarmMetric = 'error-rate' | 'token-rejections' | 'fail-closed' | 'p99-wait';

/**
 * How an alarm a step's gate names is judged from the stage fleet's metrics: ALARM when the
 * metric, over the window since the last look, goes above `max` (a share for error-rate, a count
 * for token-rejections and fail-closed, seconds for p99-wait). `cloudwatch` names the alarm
 * CloudWatch holds instead, when CloudWatch is the alarm source.
 */
export interface AlarmRule {
  readonly metric: AlarmMetric;
  readonly max: number;
  /** p99-wait: the tier whose queue wait is watched (default: the worst tier). */
  readonly tier?: string;
  readonly cloudwatch?: string;
  readonly description?: string;
}

/** A validated migration definition (migrations/NNN-name.json). */
export interface Plan {
  readonly id: string;
  readonly title: string;
  readonly description?: string;
  readonly stages: readonly Stage[];
  readonly phases: readonly Phase[];
  readonly initialFlags: Flags;
  /** In rollout order: phase by phase, and within a phase stage by stage. */
  readonly steps: readonly Step[];
  /** How the alarms the gates name are judged (by alarm name); absent: alarms come from elsewhere. */
  readonly alarms?: Readonly<Record<string, AlarmRule>>;
}

// ---------------------------------------------------------------------------------------------
// Evidence: what a step's gate is judged on. Shaped like the shadow validator's report.json
// summary and gate verdict, restated here so the decider depends on no other part.

export interface ShadowTotals {
  readonly read: number;
  readonly quarantined: number;
  readonly compared: number;
}

export interface ShadowOutcomes {
  readonly same: number;
  readonly changed: number;
  readonly baselineError: number;
  readonly candidateError: number;
  readonly bothError: number;
}

export interface GateFailure {
  readonly threshold: string;
  /** Null when the report could not measure it. */
  readonly measured: number | string | null;
  readonly limit: number | string | boolean;
}

export interface GateVerdict {
  readonly passed: boolean;
  readonly failures: readonly GateFailure[];
}

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface Evidence {
  /** Where the report came from (a file path or URL), for the audit trail. */
  readonly source: string;
  readonly totals: ShadowTotals;
  readonly outcomes: ShadowOutcomes;
  readonly verdict: GateVerdict;
  /** Alarm states observed when the evidence was gathered, by alarm name. */
  readonly alarms: Readonly<Record<string, AlarmState>>;
}

// ---------------------------------------------------------------------------------------------
// Commands. `at` is the instant the command is decided at (passed in: the decider reads no clock).

/** Who asked, when, and (where given) why: carried by every command and copied onto its events. */
export interface Attribution {
  readonly actor: string;
  readonly at: string;
  readonly reason?: string;
}

type CommandBase = Attribution;

/** A configuration deployment that carries a step's flags to its stage (AppConfig: environment and deployment number). */
export interface DeploymentRef {
  readonly environment: string;
  readonly number: number;
  /** The hosted configuration version deployed. */
  readonly configVersion: string;
}

export type MigrationCommand =
  | (CommandBase & { readonly type: 'plan'; readonly plan: Plan })
  | (CommandBase & { readonly type: 'startStep'; readonly stepId: string })
  | (CommandBase & { readonly type: 'attachEvidence'; readonly stepId?: string; readonly evidence: Evidence })
  | (CommandBase & { readonly type: 'completeStep'; readonly stepId?: string })
  | (CommandBase & { readonly type: 'advance' })
  | (CommandBase & { readonly type: 'pause' })
  | (CommandBase & { readonly type: 'resume' })
  | (CommandBase & { readonly type: 'recordDeployment'; readonly stepId: string; readonly deployment: DeploymentRef; readonly state: 'started' | 'complete' })
  /** `pause`: the rollback also pauses the migration, in the same append (an automatic rollback waits for a person). */
  | (CommandBase & { readonly type: 'rollback'; readonly toStep: string; readonly reason: string; readonly pause?: boolean })
  /**
   * Withdraws the live step before anything carried its flags out (its gate failed): the stage
   * goes back to the flags it ran before the step started, which is what its environment still
   * runs, so nothing needs deploying. `pause` as for rollback.
   */
  | (CommandBase & { readonly type: 'withdrawStep'; readonly stepId?: string; readonly reason: string; readonly pause?: boolean })
  | (CommandBase & { readonly type: 'abort' })
  | (CommandBase & { readonly type: 'complete' });


// ---------------------------------------------------------------------------------------------
// Events: the only record of a migration. Each carries who, when and (where given) why.

type EventBase = Attribution;

export type MigrationEvent =
  | (EventBase & { readonly type: 'MigrationPlanned'; readonly plan: Plan })
  | (EventBase & { readonly type: 'StepStarted'; readonly stepId: string; readonly stage: string; readonly liveFlags: Flags })
  | (EventBase & { readonly type: 'EvidenceAttached'; readonly stepId: string; readonly evidence: Evidence; readonly passed: boolean; readonly failures: readonly string[] })
  | (EventBase & { readonly type: 'StepCompleted'; readonly stepId: string })
  | (EventBase & { readonly type: 'DeploymentStarted'; readonly stepId: string; readonly stage: string; readonly deployment: DeploymentRef })
  | (EventBase & { readonly type: 'DeploymentCompleted'; readonly stepId: string; readonly deployment: DeploymentRef })
  | (EventBase & { readonly type: 'MigrationPaused' })
  | (EventBase & { readonly type: 'MigrationResumed' })
  | (EventBase & {
      readonly type: 'RolledBack';
      readonly toStep: string;
      readonly reason: string;
      /** Steps undone, latest first (including a step that was in progress). */
      readonly undoneSteps: readonly string[];
      /** Flags each stage lands on; readers keep accepting both formats. */
      readonly liveFlags: Readonly<Record<string, Flags>>;
    })
  | (EventBase & {
      readonly type: 'StepWithdrawn';
      readonly stepId: string;
      readonly stage: string;
      readonly reason: string;
      /** The flags the stage ran before the step started, which it runs again (nothing was deployed). */
      readonly liveFlags: Flags;
    })
  | (EventBase & { readonly type: 'MigrationAborted' })
  | (EventBase & { readonly type: 'MigrationCompleted' });


/** A rule of the rollout that a command would break, in words a person understands. */
export interface Rejection {
  /** Short stable name of the invariant (for scripts): e.g. `phase-order`. */
  readonly invariant: string;
  /** The invariant stated plainly, and how this command breaks it. */
  readonly message: string;
}

export type Decision = { readonly ok: true; readonly events: readonly MigrationEvent[] } | { readonly ok: false; readonly rejection: Rejection };

// ---------------------------------------------------------------------------------------------
// State: a fold of the events.

export type MigrationStatus = 'unplanned' | 'active' | 'paused' | 'aborted' | 'completed';
export type StepStatus = 'pending' | 'in-progress' | 'completed';

export interface StepProgress {
  readonly status: StepStatus;
  readonly startedAt?: string;
  readonly completedAt?: string;
  /** Evidence attached while this run of the step was live (a rollback clears it). */
  readonly evidence: readonly { readonly at: string; readonly actor: string; readonly passed: boolean; readonly failures: readonly string[]; readonly evidence: Evidence }[];
  /** How many times the step has been started (a rollback and re-run counts again). */
  readonly runs: number;
  /** What the stage ran just before this run started (a withdrawal goes back to it). */
  readonly flagsBefore?: Flags;
  /** The deployment carrying this run's flags to its stage, once one was started. */
  readonly deployment?: DeploymentRef & { readonly startedAt: string; readonly completedAt?: string };
}

export interface MigrationState {
  readonly status: MigrationStatus;
  readonly plan?: Plan;
  readonly steps: Readonly<Record<string, StepProgress>>;
  /** Step currently live and baking, if any. */
  readonly current?: string;
  /** What each stage runs with right now. */
  readonly liveFlags: Readonly<Record<string, Flags>>;
  readonly pausedReason?: string;
  /** When the migration reached its status (planned, paused, aborted...). */
  readonly since?: string;
  /** Number of events folded into this state (the stream version). */
  readonly version: number;
}
