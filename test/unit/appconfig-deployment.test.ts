import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  deploymentAt,
  milestones,
  PREDEFINED_STRATEGIES,
  rolloutSteps,
  scaledMinutes,
  servesNewVersion,
  sessionBucket,
  type DeploymentTimeline,
  type RolloutStrategy,
} from '../../src/appconfig/local/index.js';

const MIN = 60_000;
const T0 = Date.parse('2026-01-05T09:00:00Z');

const linear20: RolloutStrategy = { deploymentDurationInMinutes: 30, growthType: 'LINEAR', growthFactor: 20, finalBakeTimeInMinutes: 30 };
const canary: RolloutStrategy = { deploymentDurationInMinutes: 20, growthType: 'EXPONENTIAL', growthFactor: 10, finalBakeTimeInMinutes: 10 };
const allAtOnceNoBake: RolloutStrategy = { deploymentDurationInMinutes: 0, growthType: 'LINEAR', growthFactor: 100, finalBakeTimeInMinutes: 0 };

const timeline = (strategy: RolloutStrategy, extra: Partial<DeploymentTimeline> = {}): DeploymentTimeline => ({ strategy, startedAt: T0, timeScale: 1, ...extra });
const at = (t: DeploymentTimeline, minutes: number) => deploymentAt(t, T0 + minutes * MIN);
const types = (t: DeploymentTimeline, minutes: number) => at(t, minutes).events.map((e) => e.eventType);

describe('rollout steps', () => {
  it('LINEAR adds the growth factor each step and ends at 100', () => {
    expect(rolloutSteps(linear20)).toEqual([20, 40, 60, 80, 100]);
    expect(rolloutSteps({ ...linear20, growthFactor: 30 })).toEqual([30, 60, 90, 100]);
  });

  it('EXPONENTIAL doubles from the growth factor (G·2^n) and ends at 100', () => {
    expect(rolloutSteps(canary)).toEqual([10, 20, 40, 80, 100]);
    expect(rolloutSteps({ ...canary, growthFactor: 2 })).toEqual([2, 4, 8, 16, 32, 64, 100]);
  });

  it('a zero-minute deployment is one step to 100', () => {
    expect(rolloutSteps(allAtOnceNoBake)).toEqual([100]);
  });

  it('steps rise strictly and end at 100 for any strategy', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.constantFrom('LINEAR' as const, 'EXPONENTIAL' as const),
        fc.integer({ min: 1, max: 1440 }),
        (growthFactor, growthType, duration) => {
          const steps = rolloutSteps({ growthFactor, growthType, deploymentDurationInMinutes: duration, finalBakeTimeInMinutes: 0 });
          expect(steps.at(-1)).toBe(100);
          for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThan(steps[i - 1] ?? 0);
        },
      ),
    );
  });
});

describe('deploymentAt', () => {
  it('LINEAR 20% every 6 minutes: each interval ends with a step, 100% at 30 minutes, then bake, then COMPLETE', () => {
    const t = timeline(linear20);
    expect(at(t, 0)).toMatchObject({ state: 'DEPLOYING', percentageComplete: 0, inProgress: true });
    expect(at(t, 5.9).percentageComplete).toBe(0);
    expect(at(t, 6).percentageComplete).toBe(20);
    expect(at(t, 13).percentageComplete).toBe(40);
    expect(at(t, 29.9)).toMatchObject({ state: 'DEPLOYING', percentageComplete: 80 });
    expect(at(t, 30)).toMatchObject({ state: 'BAKING', percentageComplete: 100, inProgress: true });
    expect(at(t, 59.9).state).toBe('BAKING');
    const done = at(t, 60);
    expect(done).toMatchObject({ state: 'COMPLETE', percentageComplete: 100, inProgress: false, completedAt: T0 + 60 * MIN });
    expect(done.events.map((e) => e.eventType)).toEqual([
      'DEPLOYMENT_STARTED',
      ...Array(5).fill('PERCENTAGE_UPDATED'),
      'BAKE_TIME_STARTED',
      'DEPLOYMENT_COMPLETED',
    ]);
    expect(done.events.filter((e) => e.eventType === 'PERCENTAGE_UPDATED').map((e) => (e.occurredAt - T0) / MIN)).toEqual([6, 12, 18, 24, 30]);
  });

  it('EXPONENTIAL canary: 10, 20, 40, 80, 100% at equal intervals over 20 minutes', () => {
    const t = timeline(canary);
    expect([4, 8, 12, 16, 20].map((m) => at(t, m).percentageComplete)).toEqual([10, 20, 40, 80, 100]);
    expect(at(t, 20).state).toBe('BAKING');
    expect(at(t, 30).state).toBe('COMPLETE');
  });

  it('all at once without bake completes at its start', () => {
    const t = timeline(allAtOnceNoBake);
    expect(at(t, 0)).toMatchObject({ state: 'COMPLETE', percentageComplete: 100 });
    expect(types(t, 0)).toEqual(['DEPLOYMENT_STARTED', 'PERCENTAGE_UPDATED', 'DEPLOYMENT_COMPLETED']);
  });

  it('AppConfig.AllAtOnce reaches everyone at once, then bakes 10 minutes', () => {
    const strategy = PREDEFINED_STRATEGIES.find((s) => s.id === 'AppConfig.AllAtOnce');
    expect(strategy).toBeDefined();
    const t = timeline(strategy as RolloutStrategy);
    expect(at(t, 0)).toMatchObject({ state: 'BAKING', percentageComplete: 100 });
    expect(at(t, 10).state).toBe('COMPLETE');
  });

  it('the time scale compresses strategy time: at 600x a 60-minute deployment takes 6 seconds', () => {
    const t = timeline(linear20, { timeScale: 600 });
    expect(scaledMinutes(1, 600)).toBe(100);
    expect(milestones(t).completesAt - T0).toBe(6_000);
    expect(deploymentAt(t, T0 + 600).percentageComplete).toBe(20);
    expect(deploymentAt(t, T0 + 3_000).state).toBe('BAKING');
    expect(deploymentAt(t, T0 + 6_000).state).toBe('COMPLETE');
  });

  it('a user stop mid-rollout rolls back at that instant, keeping the percentage reached', () => {
    const t = timeline(linear20, { stop: { at: T0 + 13 * MIN, by: 'USER', description: 'stopped' } });
    expect(at(t, 12).state).toBe('DEPLOYING');
    const v = at(t, 100);
    expect(v).toMatchObject({ state: 'ROLLED_BACK', percentageComplete: 40, inProgress: false, completedAt: T0 + 13 * MIN });
    expect(v.events.slice(-2).map((e) => [e.eventType, e.triggeredBy])).toEqual([
      ['ROLLBACK_STARTED', 'USER'],
      ['ROLLBACK_COMPLETED', 'USER'],
    ]);
    expect(v.events.some((e) => e.eventType === 'DEPLOYMENT_COMPLETED')).toBe(false);
  });

  it('an alarm during the final bake rolls back (CLOUDWATCH_ALARM)', () => {
    const t = timeline(linear20, { stop: { at: T0 + 45 * MIN, by: 'CLOUDWATCH_ALARM', description: 'alarm' } });
    const v = at(t, 50);
    expect(v.state).toBe('ROLLED_BACK');
    expect(v.percentageComplete).toBe(100);
    expect(v.events.map((e) => e.eventType)).toContain('BAKE_TIME_STARTED');
    expect(v.events.at(-1)).toMatchObject({ eventType: 'ROLLBACK_COMPLETED', triggeredBy: 'CLOUDWATCH_ALARM' });
  });

  it('a stop after completion changes nothing unless it reverts', () => {
    expect(at(timeline(linear20, { stop: { at: T0 + 61 * MIN, by: 'USER', description: 'late' } }), 70).state).toBe('COMPLETE');
    const reverted = at(timeline(linear20, { stop: { at: T0 + 61 * MIN, by: 'USER', description: 'revert', revert: true } }), 70);
    expect(reverted.state).toBe('REVERTED');
    expect(reverted.events.at(-1)?.eventType).toBe('REVERT_COMPLETED');
  });

  it('events are in time order and never later than now', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120 }), fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }), (now, stopAt) => {
        const t = timeline(canary, stopAt === undefined ? {} : { stop: { at: T0 + stopAt * MIN, by: 'USER', description: 's' } });
        const v = at(t, now);
        for (let i = 1; i < v.events.length; i++) expect(v.events[i]?.occurredAt).toBeGreaterThanOrEqual(v.events[i - 1]?.occurredAt ?? 0);
        for (const e of v.events) expect(e.occurredAt).toBeLessThanOrEqual(T0 + now * MIN);
      }),
    );
  });

  it('percentage never decreases over time while deploying', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.constantFrom('LINEAR' as const, 'EXPONENTIAL' as const), (g, type) => {
        const t = timeline({ deploymentDurationInMinutes: 30, growthType: type, growthFactor: g, finalBakeTimeInMinutes: 5 });
        let last = 0;
        for (let m = 0; m <= 40; m += 0.5) {
          const p = at(t, m).percentageComplete;
          expect(p).toBeGreaterThanOrEqual(last);
          last = p;
        }
        expect(last).toBe(100);
      }),
    );
  });
});

describe('servesNewVersion', () => {
  it('serves the buckets below the percentage, and nobody after a rollback', () => {
    const t = timeline(linear20);
    const v = at(t, 13); // 40%
    const buckets = Array.from({ length: 100 }, (_, i) => i);
    expect(buckets.filter((b) => servesNewVersion(v, b))).toHaveLength(40);
    const rolledBack = at(timeline(linear20, { stop: { at: T0 + 13 * MIN, by: 'USER', description: 's' } }), 14);
    expect(buckets.some((b) => servesNewVersion(rolledBack, b))).toBe(false);
  });
});

describe('sessionBucket', () => {
  it('is stable and in [0, 100)', () => {
    for (let n = 0; n < 1000; n++) {
      expect(sessionBucket(n)).toBe(sessionBucket(n));
      expect(sessionBucket(n)).toBeGreaterThanOrEqual(0);
      expect(sessionBucket(n)).toBeLessThan(100);
    }
  });

  it('any run of up to 100 consecutive sessions splits at any percentage within 3 of the exact share', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 100 }), (start, count, percentage) => {
        let served = 0;
        for (let n = start; n < start + count; n++) if (sessionBucket(n) < percentage) served++;
        expect(Math.abs(served - (count * percentage) / 100)).toBeLessThanOrEqual(3);
      }),
    );
  });
});
