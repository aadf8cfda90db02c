/**
 * What `prio rollout run --dry-run` and `prio rollout status` print: the plan (steps, flags,
 * strategies, bake time) and where a rollout is (live step, its deployment, bake left, last
 * evidence). Pure.
 */
import { applyFlags, describeFlags, formatDuration, statusView, type Flags, type MigrationState, type Plan } from '../migration/index.js';
import type { RolloutSettings } from './settings.js';

export interface PlannedStep {
  readonly step: string;
  readonly phase: number;
  readonly stage: string;
  readonly environment: string | null;
  readonly strategy: string | null;
  readonly flags: Flags;
  readonly bakeMinutes: number;
  readonly alarms: readonly string[];
}

export interface RolloutPlanView {
  readonly migration: string;
  readonly steps: readonly PlannedStep[];
  readonly totalBakeMinutes: number;
  /** Real time the bakes take under the settings' time scale. */
  readonly totalBakeRealMinutes: number;
  readonly timeScale: number;
}

export function planView(plan: Plan, settings?: RolloutSettings): RolloutPlanView {
  const flagsByStage = new Map<string, Flags>();
  const steps = plan.steps.map((s) => {
    const flags = applyFlags(flagsByStage.get(s.stage) ?? plan.initialFlags, [s.flags]);
    flagsByStage.set(s.stage, flags);
    const stage = settings?.stages[s.stage];
    return { step: s.id, phase: s.phase, stage: s.stage, environment: stage?.environment ?? null, strategy: stage?.strategy ?? null, flags, bakeMinutes: s.bakeMinutes, alarms: s.gate.alarms };
  });
  const total = plan.steps.reduce((n, s) => n + s.bakeMinutes, 0);
  const scale = settings?.timeScale ?? 1;
  return { migration: plan.id, steps, totalBakeMinutes: total, totalBakeRealMinutes: total / scale, timeScale: scale };
}

export interface RolloutStatusView {
  readonly migration: string;
  readonly status: string;
  readonly pausedReason?: string;
  readonly live?: {
    readonly step: string;
    readonly stage: string;
    readonly phase: 'evidence' | 'deploying' | 'baking';
    readonly deployment?: { readonly environment: string; readonly number: number; readonly configVersion: string; readonly completedAt?: string };
    /** Bake left in migration minutes (under a time scale, divide by it for real minutes). */
    readonly bakeLeftMinutes: number;
  };
  readonly lastEvidence?: { readonly step: string; readonly at: string; readonly passed: boolean; readonly failures: readonly string[]; readonly compared: number; readonly changed: number };
  readonly stages: readonly { readonly stage: string; readonly flags: string }[];
  readonly steps: readonly { readonly id: string; readonly status: string; readonly runs: number }[];
}

export function rolloutStatus(state: MigrationState, now: string): RolloutStatusView | undefined {
  const view = statusView(state, now);
  const plan = state.plan;
  if (view === undefined || plan === undefined) return undefined;
  let lastEvidence: RolloutStatusView['lastEvidence'];
  for (const s of plan.steps) {
    const e = state.steps[s.id]?.evidence.at(-1);
    if (e !== undefined && (lastEvidence === undefined || e.at > lastEvidence.at)) {
      lastEvidence = { step: s.id, at: e.at, passed: e.passed, failures: e.failures, compared: e.evidence.totals.compared, changed: e.evidence.outcomes.changed };
    }
  }
  let live: RolloutStatusView['live'];
  if (view.live !== undefined) {
    const d = state.steps[view.live.step]?.deployment;
    live = {
      step: view.live.step,
      stage: view.live.stage,
      phase: d === undefined ? 'evidence' : d.completedAt === undefined ? 'deploying' : 'baking',
      ...(d === undefined ? {} : { deployment: { environment: d.environment, number: d.number, configVersion: d.configVersion, ...(d.completedAt === undefined ? {} : { completedAt: d.completedAt }) } }),
      bakeLeftMinutes: view.live.bakeRemainingMinutes,
    };
  }
  return {
    migration: plan.id,
    status: view.status,
    ...(view.pausedReason === undefined ? {} : { pausedReason: view.pausedReason }),
    ...(live === undefined ? {} : { live }),
    ...(lastEvidence === undefined ? {} : { lastEvidence }),
    stages: view.stages.map((s) => ({ stage: s.stage, flags: describeFlags(s.liveFlags) })),
    steps: view.steps.map((s) => ({ id: s.id, status: s.status, runs: s.runs })),
  };
}

export { formatDuration };
