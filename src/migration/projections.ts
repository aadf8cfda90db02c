/**
 * Read models folded from a migration's events: the current status (per stage and phase: what
 * is live, what is next, what blocks it), the history (a timeline with actor, reason and
 * evidence), and the state at any past instant. Pure: the caller passes the events and "now".
 */
import { decide, fold, formatDuration, nextStep } from './decider.js';
import type { Flags, MigrationEvent, MigrationState, MigrationStatus, Rejection, StepStatus } from './model.js';

export interface StageStatus {
  readonly stage: string;
  /** Per phase: done when every step of that phase in this stage completed. */
  readonly phases: readonly { readonly phase: number; readonly name: string; readonly status: StepStatus }[];
  readonly liveFlags: Flags;
}

export interface MigrationStatusView {
  readonly id: string;
  readonly title: string;
  readonly status: MigrationStatus;
  readonly since?: string;
  readonly pausedReason?: string;
  readonly version: number;
  readonly live?: {
    readonly step: string;
    readonly stage: string;
    readonly phase: number;
    readonly startedAt: string;
    /** Minutes of bake time left (0 when baked). */
    readonly bakeRemainingMinutes: number;
    readonly gate: 'passed' | 'failed' | 'missing';
  };
  /** What `advance` would do now. */
  readonly next: { readonly action: 'complete-step' | 'start-step' | 'complete-migration' | 'none'; readonly step?: string };
  /** Why `advance` would be refused now, if it would. */
  readonly blockedBy?: Rejection;
  readonly stages: readonly StageStatus[];
  readonly steps: readonly { readonly id: string; readonly phase: number; readonly stage: string; readonly status: StepStatus; readonly runs: number }[];
}

/** The status of a planned migration at `now` (ISO). Undefined for an unplanned stream. */
export function statusView(state: MigrationState, now: string): MigrationStatusView | undefined {
  const plan = state.plan;
  if (plan === undefined) return undefined;
  const stepStatus = (id: string): StepStatus => state.steps[id]?.status ?? 'pending';

  const stages: StageStatus[] = plan.stages.map(({ name }) => ({
    stage: name,
    phases: plan.phases.map((p) => {
      const statuses = plan.steps.filter((s) => s.phase === p.number && s.stage === name).map((s) => stepStatus(s.id));
      const status: StepStatus = statuses.every((s) => s === 'completed')
        ? 'completed'
        : statuses.some((s) => s !== 'pending')
          ? 'in-progress'
          : 'pending';
      return { phase: p.number, name: p.name, status };
    }),
    liveFlags: state.liveFlags[name] ?? plan.initialFlags,
  }));

  let live: MigrationStatusView['live'];
  const current = state.current === undefined ? undefined : plan.steps.find((s) => s.id === state.current);
  const progress = current === undefined ? undefined : state.steps[current.id];
  if (current !== undefined && progress?.startedAt !== undefined) {
    const bakeFrom = progress.deployment === undefined ? progress.startedAt : progress.deployment.completedAt;
    const remaining = bakeFrom === undefined ? current.bakeMinutes * 60_000 : current.bakeMinutes * 60_000 - (Date.parse(now) - Date.parse(bakeFrom));
    const latest = progress.evidence[progress.evidence.length - 1];
    live = {
      step: current.id,
      stage: current.stage,
      phase: current.phase,
      startedAt: progress.startedAt,
      bakeRemainingMinutes: Math.max(0, Math.ceil(remaining / 60_000)),
      gate: latest === undefined ? 'missing' : latest.passed ? 'passed' : 'failed',
    };
  }

  let next: MigrationStatusView['next'] = { action: 'none' };
  if (state.status === 'active' || state.status === 'paused') {
    const upcoming = nextStep(plan, state);
    next = current !== undefined
      ? { action: 'complete-step', step: current.id }
      : upcoming !== undefined
        ? { action: 'start-step', step: upcoming.id }
        : { action: 'complete-migration' };
  }
  const decision = decide({ type: 'advance', actor: 'status', at: now }, state);
  return {
    id: plan.id,
    title: plan.title,
    status: state.status,
    ...(state.since !== undefined ? { since: state.since } : {}),
    ...(state.pausedReason !== undefined ? { pausedReason: state.pausedReason } : {}),
    version: state.version,
    ...(live !== undefined ? { live } : {}),
    next,
    // A finished migration is not blocked: it is done.
    ...(decision.ok || next.action === 'none' ? {} : { blockedBy: decision.rejection }),
    stages,
    steps: plan.steps.map((s) => ({ id: s.id, phase: s.phase, stage: s.stage, status: stepStatus(s.id), runs: state.steps[s.id]?.runs ?? 0 })),
  };
}

export interface HistoryEntry {
  readonly version: number;
  readonly at: string;
  readonly actor: string;
  readonly type: MigrationEvent['type'];
  /** One line a person reads in a timeline. */
  readonly summary: string;
  readonly reason?: string;
  readonly evidence?: { readonly source: string; readonly passed: boolean; readonly failures: readonly string[]; readonly compared: number; readonly changed: number };
}

/** The timeline of a migration: one entry per event, oldest first. */
export function historyView(events: readonly MigrationEvent[]): HistoryEntry[] {
  return events.map((e, i) => {
    const entry = { version: i + 1, at: e.at, actor: e.actor, type: e.type, ...(e.reason !== undefined ? { reason: e.reason } : {}) };
    switch (e.type) {
      case 'MigrationPlanned':
        return { ...entry, summary: `planned ${e.plan.id}: ${e.plan.steps.length} steps over ${e.plan.stages.map((s) => s.name).join(' → ')}` };
      case 'StepStarted':
        return { ...entry, summary: `started ${e.stepId} in ${e.stage} (${describeFlags(e.liveFlags)})` };
      case 'EvidenceAttached':
        return {
          ...entry,
          summary: `evidence for ${e.stepId}: gate ${e.passed ? 'passed' : 'FAILED'} (${e.evidence.totals.compared} compared, ${e.evidence.outcomes.changed} changed)`,
          evidence: { source: e.evidence.source, passed: e.passed, failures: e.failures, compared: e.evidence.totals.compared, changed: e.evidence.outcomes.changed },
        };
      case 'StepCompleted':
        return { ...entry, summary: `completed ${e.stepId}` };
      case 'DeploymentStarted':
        return { ...entry, summary: `deployment #${e.deployment.number} of ${e.stepId} started in ${e.deployment.environment} (configuration version ${e.deployment.configVersion})` };
      case 'DeploymentCompleted':
        return { ...entry, summary: `deployment #${e.deployment.number} of ${e.stepId} completed in ${e.deployment.environment}` };
      case 'MigrationPaused':
        return { ...entry, summary: 'paused' };
      case 'MigrationResumed':
        return { ...entry, summary: 'resumed' };
      case 'RolledBack':
        return { ...entry, summary: `rolled back to ${e.toStep === 'start' ? 'the start' : e.toStep}, undoing ${e.undoneSteps.join(', ')}` };
      case 'StepWithdrawn':
        return { ...entry, summary: `withdrew ${e.stepId} before deploying it; ${e.stage} stays on ${describeFlags(e.liveFlags)}` };
      case 'MigrationAborted':
        return { ...entry, summary: 'aborted' };
      case 'MigrationCompleted':
        return { ...entry, summary: 'completed the migration' };
    }
  });
}

/**
 * The state as it was at `instant` (ISO): the fold of the events recorded up to it. Takes the
 * longest prefix of the stream at or before the instant, so the result is always a state the
 * migration really passed through, even if two controllers' clocks disagreed slightly.
 */
export function stateAt(events: readonly MigrationEvent[], instant: string): MigrationState {
  return fold(events.slice(0, eventsUpTo(events, instant)));
}

/** How many events (a prefix) were recorded at or before `instant`. */
export function eventsUpTo(events: readonly MigrationEvent[], instant: string): number {
  const limit = Date.parse(instant);
  const firstLater = events.findIndex((e) => Date.parse(e.at) > limit);
  return firstLater === -1 ? events.length : firstLater;
}

export function describeFlags(f: Flags): string {
  return `read ${f.tokenReadMode}/${f.priorityScheme}, write ${f.tokenWriteMode}, tiers ${f.serviceTierMode}, rules ${f.rulesVersion}`;
}

export { formatDuration };
