/**
 * The deployment state machine of the local AppConfig endpoint, as a pure function of time.
 *
 *   deploymentAt(timeline, now) → { state, percentageComplete, events, completedAt }
 *
 * A deployment stores only what happened to it (when it started, under which strategy and time
 * scale, and whether and when it was stopped); everything AppConfig reports about it is computed
 * here on each read. No timers and no clock: the server passes `now`, so a restarted endpoint, a
 * test with a fake clock and a game day at 60x speed all see the same deployment.
 *
 * Semantics follow AppConfig's documentation of deployment strategies: the rollout is split into
 * equal intervals over DeploymentDurationInMinutes, each interval ending with a step (LINEAR:
 * G, 2G, 3G … %, EXPONENTIAL: G·2^0, G·2^1, G·2^2 … %, capped at 100), so 100% is reached exactly
 * when the duration ends (AppConfig.Linear20PercentEvery6Minutes: 20% at 6 min … 100% at 30 min).
 * Then the final bake; then COMPLETE. A stop (user or alarm) before completion rolls back; a stop
 * with revert after completion reverts.
 */

export type GrowthType = 'LINEAR' | 'EXPONENTIAL';
export type DeploymentState = 'VALIDATING' | 'DEPLOYING' | 'BAKING' | 'COMPLETE' | 'ROLLING_BACK' | 'ROLLED_BACK' | 'REVERTED';
export type DeploymentEventType =
  | 'DEPLOYMENT_STARTED'
  | 'PERCENTAGE_UPDATED'
  | 'BAKE_TIME_STARTED'
  | 'DEPLOYMENT_COMPLETED'
  | 'ROLLBACK_STARTED'
  | 'ROLLBACK_COMPLETED'
  | 'REVERT_COMPLETED';
export type TriggeredBy = 'USER' | 'APPCONFIG' | 'CLOUDWATCH_ALARM' | 'INTERNAL_ERROR';

/** The rollout parameters of a deployment strategy (copied into each deployment at its start). */
export interface RolloutStrategy {
  readonly deploymentDurationInMinutes: number;
  readonly growthType: GrowthType;
  /** Percentage of targets per step (LINEAR) or the base G of G·2^n (EXPONENTIAL); 1–100. */
  readonly growthFactor: number;
  readonly finalBakeTimeInMinutes: number;
}

/** Why and when a deployment was stopped. */
export interface DeploymentStop {
  /** Epoch ms. */
  readonly at: number;
  readonly by: TriggeredBy;
  readonly description: string;
  /** A stop after completion only counts when the caller asked to revert (StopDeployment Allow-Revert). */
  readonly revert?: boolean;
}

export interface DeploymentTimeline {
  readonly strategy: RolloutStrategy;
  /** Epoch ms at StartDeployment. */
  readonly startedAt: number;
  /** Strategy minutes pass in 60/timeScale real seconds. */
  readonly timeScale: number;
  readonly stop?: DeploymentStop;
}

export interface DeploymentEvent {
  readonly eventType: DeploymentEventType;
  readonly triggeredBy: TriggeredBy;
  readonly description: string;
  /** Epoch ms. */
  readonly occurredAt: number;
}

export interface DeploymentView {
  readonly state: DeploymentState;
  /** Share of targets (configuration sessions) that receive the new version, 0–100. */
  readonly percentageComplete: number;
  /** Oldest first. */
  readonly events: readonly DeploymentEvent[];
  /** Epoch ms at which the deployment reached COMPLETE, ROLLED_BACK or REVERTED. */
  readonly completedAt?: number;
  /** Whether the deployment still holds its environment (no other deployment may start). */
  readonly inProgress: boolean;
}

const MS_PER_MINUTE = 60_000;

/** The percentages a strategy steps through, ending with 100. */
export function rolloutSteps(strategy: RolloutStrategy): number[] {
  const g = strategy.growthFactor;
  if (!(g > 0)) throw new RangeError(`growth factor must be positive, got ${g}`);
  if (strategy.deploymentDurationInMinutes <= 0) return [100];
  const steps: number[] = [];
  for (let n = 0; ; n++) {
    const raw = strategy.growthType === 'EXPONENTIAL' ? g * 2 ** n : g * (n + 1);
    if (raw >= 100) break;
    steps.push(roundPercent(raw));
  }
  steps.push(100);
  return steps;
}

/** Real milliseconds that `minutes` of strategy time take at `timeScale`. */
export function scaledMinutes(minutes: number, timeScale: number): number {
  return (minutes * MS_PER_MINUTE) / timeScale;
}

/** The instants (epoch ms) at which the rollout, the bake and the deployment end if nothing stops it. */
export function milestones(timeline: DeploymentTimeline): { stepTimes: number[]; steps: number[]; bakeStartsAt: number; completesAt: number } {
  const { strategy, startedAt, timeScale } = timeline;
  const steps = rolloutSteps(strategy);
  const duration = scaledMinutes(strategy.deploymentDurationInMinutes, timeScale);
  const interval = duration / steps.length;
  const stepTimes = steps.map((_, i) => startedAt + interval * (i + 1));
  if (duration <= 0) stepTimes[0] = startedAt;
  const bakeStartsAt = startedAt + duration;
  return { stepTimes, steps, bakeStartsAt, completesAt: bakeStartsAt + scaledMinutes(strategy.finalBakeTimeInMinutes, timeScale) };
}

/** What AppConfig reports about a deployment at `now`. Pure and total. */
export function deploymentAt(timeline: DeploymentTimeline, now: number): DeploymentView {
  const { strategy, startedAt, stop } = timeline;
  const { stepTimes, steps, bakeStartsAt, completesAt } = milestones(timeline);
  const events: DeploymentEvent[] = [
    { eventType: 'DEPLOYMENT_STARTED', triggeredBy: 'USER', description: 'Deployment started', occurredAt: startedAt },
  ];
  // A stop counts from its instant on; a stop before completion rolls back (one at the very
  // instant an instant deployment completes too: an alarm firing as it starts), after completion
  // only a revert counts.
  const rollbackAt = stop !== undefined && stop.revert !== true && stop.at <= completesAt && stop.at <= now ? stop.at : undefined;
  const horizon = rollbackAt ?? now;

  let percentage = 0;
  for (let i = 0; i < steps.length; i++) {
    const at = stepTimes[i] ?? startedAt;
    if (at > horizon) break;
    percentage = steps[i] ?? 100;
    events.push({
      eventType: 'PERCENTAGE_UPDATED',
      triggeredBy: 'APPCONFIG',
      description: `Configuration deployed to ${formatPercent(percentage)}% of clients`,
      occurredAt: at,
    });
  }
  const hasBake = strategy.finalBakeTimeInMinutes > 0;
  if (hasBake && bakeStartsAt <= horizon) {
    events.push({
      eventType: 'BAKE_TIME_STARTED',
      triggeredBy: 'APPCONFIG',
      description: `Deployment bake time started (${formatPercent(strategy.finalBakeTimeInMinutes)} minutes)`,
      occurredAt: bakeStartsAt,
    });
  }

  if (rollbackAt !== undefined && stop !== undefined) {
    events.push(
      { eventType: 'ROLLBACK_STARTED', triggeredBy: stop.by, description: stop.description, occurredAt: rollbackAt },
      { eventType: 'ROLLBACK_COMPLETED', triggeredBy: stop.by, description: 'Rollback completed', occurredAt: rollbackAt },
    );
    return { state: 'ROLLED_BACK', percentageComplete: percentage, events, completedAt: rollbackAt, inProgress: false };
  }
  if (now < completesAt) {
    const state: DeploymentState = now >= bakeStartsAt && percentage === 100 ? 'BAKING' : 'DEPLOYING';
    return { state, percentageComplete: percentage, events, inProgress: true };
  }
  events.push({ eventType: 'DEPLOYMENT_COMPLETED', triggeredBy: 'APPCONFIG', description: 'Deployment completed', occurredAt: completesAt });
  if (stop?.revert === true && stop.at <= now) {
    events.push({ eventType: 'REVERT_COMPLETED', triggeredBy: stop.by, description: stop.description, occurredAt: stop.at });
    return { state: 'REVERTED', percentageComplete: 100, events, completedAt: completesAt, inProgress: false };
  }
  return { state: 'COMPLETE', percentageComplete: 100, events, completedAt: completesAt, inProgress: false };
}

/**
 * Whether a configuration session in `bucket` (0 ≤ bucket < 100) receives a deployment's new
 * version: the first `percentageComplete` percent of buckets do, so the share of sessions served
 * the new version tracks the deployment's progress, and a session never flips back and forth.
 */
export function servesNewVersion(view: DeploymentView, bucket: number): boolean {
  if (view.state === 'ROLLED_BACK' || view.state === 'REVERTED') return false;
  return bucket < view.percentageComplete;
}

const GOLDEN = (Math.sqrt(5) - 1) / 2;

/**
 * The bucket (0 ≤ bucket < 100) of the n-th configuration session: frac(n·φ)·100, the golden-ratio
 * sequence. Pseudo-random yet evenly spread, so any run of up to 100 consecutive sessions splits
 * at any percentage within 3 sessions of the exact share (and 20 within about one).
 */
export function sessionBucket(sessionNumber: number): number {
  return ((sessionNumber * GOLDEN) % 1) * 100;
}

function roundPercent(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function formatPercent(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/0+$/, '').replace(/\.$/, '');
}
