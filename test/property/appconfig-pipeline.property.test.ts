import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Deployment, DeploymentEvent } from '@aws-sdk/client-appconfig';
import {
  FRESH,
  observe,
  planInit,
  planRollback,
  shippedStrategies,
  type DeploymentRecord,
  type DesiredSetup,
  type ExistingSetup,
  type InitAction,
  type WatchMemory,
} from '../../src/appconfig/pipeline/index.js';

const strategies = shippedStrategies();
const ENV_NAMES = ['beta', 'preprod', 'prod', 'gamma'];
const PROFILES = ['rules', 'overrides', 'flags'];
const alarmsArb = fc.uniqueArray(fc.constantFrom('arn:a', 'arn:b', 'arn:c'), { maxLength: 3 });

const desiredArb: fc.Arbitrary<DesiredSetup> = fc.record({
  application: fc.constant('prio'),
  environments: fc.uniqueArray(fc.constantFrom(...ENV_NAMES), { minLength: 1 }).chain((names) =>
    fc.tuple(...names.map((name) => fc.option(alarmsArb, { nil: undefined }).map((alarms) => ({ name, ...(alarms === undefined ? {} : { alarms }) })))),
  ),
  profiles: fc.constant(PROFILES.map((name) => ({ name, schema: `{"title":"${name}"}` }))),
  strategies: fc.constant(strategies),
});

/** Some of what `desired` names already exists, possibly drifted (other alarms, an old schema). */
const existingArb: fc.Arbitrary<ExistingSetup> = fc.record({
  application: fc.option(fc.constant({ id: 'app', name: 'prio' }), { nil: undefined }),
  environments: fc.uniqueArray(fc.constantFrom(...ENV_NAMES)).chain((names) => fc.tuple(...names.map((name) => alarmsArb.map((alarms) => ({ id: `env-${name}`, name, alarms }))))),
  profiles: fc.uniqueArray(fc.constantFrom(...PROFILES)).chain((names) =>
    fc.tuple(...names.map((name) => fc.constantFrom(`{"title":"${name}"}`, '{"title":"old"}', undefined).map((schema) => ({ id: `profile-${name}`, name, schema })))),
  ),
  strategies: fc.subarray(strategies.map((s) => ({ ...s, id: `strategy-${s.name}` }))),
});

/** What AppConfig holds after init carries out `actions` (the test's model of the calls). */
function applyActions(existing: ExistingSetup, actions: readonly InitAction[]): ExistingSetup {
  let next = existing;
  for (const a of actions) {
    switch (a.kind) {
      case 'create-application':
        next = { ...next, application: { id: 'app', name: a.name } };
        break;
      case 'create-environment':
        next = { ...next, environments: [...next.environments, { id: `env-${a.name}`, name: a.name, alarms: a.alarms }] };
        break;
      case 'set-alarms':
        next = { ...next, environments: next.environments.map((e) => (e.id === a.id ? { ...e, alarms: a.alarms } : e)) };
        break;
      case 'create-profile':
        next = { ...next, profiles: [...next.profiles, { id: `profile-${a.name}`, name: a.name, schema: a.schema }] };
        break;
      case 'set-validator':
        next = { ...next, profiles: next.profiles.map((p) => (p.id === a.id ? { ...p, schema: a.schema } : p)) };
        break;
      case 'create-strategy':
        next = { ...next, strategies: [...next.strategies, { ...a.strategy, id: `strategy-${a.strategy.name}` }] };
        break;
    }
  }
  return next;
}

describe('init converges', () => {
  it('whatever exists, carrying out the plan leaves nothing more to do: a second init is a no-op', () => {
    fc.assert(
      fc.property(desiredArb, existingArb, (desired, existing) => {
        const plan = planInit(desired, existing);
        expect(plan.problems).toEqual([]);
        const after = applyActions(existing, plan.actions);
        const again = planInit(desired, after);
        expect(again.actions).toEqual([]);
        // Everything desired is then accounted for, once, and is what was asked for.
        expect(again.unchanged).toHaveLength(1 + desired.environments.length + desired.profiles.length + desired.strategies.length);
        expect(after.application?.name).toBe('prio');
        for (const env of desired.environments) {
          const found = after.environments.filter((e) => e.name === env.name);
          expect(found).toHaveLength(1);
          if (env.alarms !== undefined) expect([...(found[0]?.alarms ?? [])].sort()).toEqual([...env.alarms].sort());
        }
        for (const profile of desired.profiles) expect(after.profiles.filter((p) => p.name === profile.name).map((p) => p.schema)).toEqual([profile.schema]);
        for (const strategy of desired.strategies) expect(after.strategies.filter((s) => s.name === strategy.name)).toHaveLength(1);
      }),
    );
  });

  it('never plans anything for what already matches', () => {
    fc.assert(
      fc.property(desiredArb, existingArb, (desired, existing) => {
        const plan = planInit(desired, existing);
        for (const a of plan.actions) {
          if (a.kind === 'create-environment') expect(existing.environments.some((e) => e.name === a.name)).toBe(false);
          if (a.kind === 'create-profile') expect(existing.profiles.some((p) => p.name === a.name)).toBe(false);
          if (a.kind === 'create-strategy') expect(existing.strategies.some((s) => s.name === a.strategy.name)).toBe(false);
        }
      }),
    );
  });
});

describe('watch lines', () => {
  /** A deployment's full event log, one event per second, and the instants at which it is polled. */
  const runArb = fc.record({
    events: fc.array(fc.constantFrom('PERCENTAGE_UPDATED', 'BAKE_TIME_STARTED', 'ROLLBACK_STARTED'), { minLength: 1, maxLength: 30 }),
    polls: fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 15 }),
  });

  it('however often it is polled, every event is printed exactly once, in the order it happened', () => {
    fc.assert(
      fc.property(runArb, ({ events, polls }) => {
        const log: DeploymentEvent[] = events.map((type, i) => ({ EventType: type as DeploymentEvent['EventType'], TriggeredBy: 'APPCONFIG', Description: `event ${i}`, OccurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) }));
        const instants = [...polls.sort((a, b) => a - b), events.length];
        let memory: WatchMemory = FRESH;
        const printed: string[] = [];
        for (const t of instants) {
          const seen = log.slice(0, Math.min(t, log.length));
          // AppConfig lists the newest first.
          const answer: Deployment = { DeploymentNumber: 1, ConfigurationName: 'rules', ConfigurationVersion: '1', State: 'DEPLOYING', PercentageComplete: seen.length, EventLog: [...seen].reverse() };
          const step = observe(memory, answer);
          memory = step.memory;
          for (const l of step.lines) if (l.event !== null) printed.push(l.event.description);
        }
        expect(printed).toEqual(events.map((_, i) => `event ${i}`));
      }),
    );
  });
});

describe('rollback', () => {
  const historyArb = fc.array(
    fc.record({ profile: fc.constantFrom('rules', 'flags'), version: fc.constantFrom('1', '2', '3'), state: fc.constantFrom('COMPLETE', 'ROLLED_BACK') }),
    { maxLength: 12 },
  );
  const records = (h: { profile: string; version: string; state: string }[]): DeploymentRecord[] =>
    h.map((d, i) => ({ number: i + 1, ...d, percentage: 100, startedAt: undefined, completedAt: undefined, durationMinutes: 0, bakeMinutes: 0 }));

  it('after COMPLETE it goes back to a version that was live before, never to the one live now', () => {
    fc.assert(
      fc.property(historyArb, fc.option(fc.constantFrom('rules', 'flags'), { nil: undefined }), (history, profile) => {
        const deployments = records(history);
        const plan = planRollback(deployments, profile);
        if (plan.kind !== 'redeploy') return;
        const mine = deployments.filter((d) => d.profile === plan.profile);
        const completed = mine.filter((d) => d.state === 'COMPLETE');
        expect(plan.from).toEqual(completed.at(-1));
        expect(plan.toVersion).not.toBe(plan.from.version);
        expect(completed.some((d) => d.version === plan.toVersion && d.number < plan.from.number)).toBe(true);
      }),
    );
  });
});
