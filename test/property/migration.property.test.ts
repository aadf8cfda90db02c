import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decide,
  evolve,
  fold,
  initialState,
  readersAcceptBoth,
  type MigrationCommand,
  type MigrationEvent,
  type MigrationState,
  type Plan,
} from '../../src/migration/index.js';
import { evidenceFor, shippedPlan } from '../support/migration/fixtures.js';

const base = shippedPlan();
const T0 = Date.parse('2026-01-05T09:00:00Z');

/** The shipped plan with bake times drawn per step, so sequences meet both baked and unbaked steps. */
const planArb: fc.Arbitrary<Plan> = fc
  .array(fc.constantFrom(0, 5, 30), { minLength: base.steps.length, maxLength: base.steps.length })
  .map((bakes) => ({ ...base, steps: base.steps.map((s, i) => ({ ...s, bakeMinutes: bakes[i] ?? 0 })) }));

const stepIds = base.steps.map((s) => s.id);

/** A command without its instant; the sequence gives each one a time and the current state. */
type Draft = (at: string, state: MigrationState) => MigrationCommand;

const draftArb = (plan: Plan): fc.Arbitrary<Draft> =>
  fc.oneof(
    { weight: 60, arbitrary: fc.constant<Draft>((at) => ({ type: 'advance', actor: 'op', at })) },
    {
      // Mostly evidence for the live step (what a pipeline sends), sometimes for another step, passing 4 times in 5.
      weight: 36,
      arbitrary: fc.tuple(fc.constantFrom(...stepIds), fc.integer({ min: 0, max: 4 }), fc.boolean()).map(([id, roll, aimAtLive]): Draft => (at, state) => {
        const target = plan.steps.find((s) => s.id === (aimAtLive ? (state.current ?? id) : id)) ?? plan.steps[0];
        return { type: 'attachEvidence', actor: 'ci', at, stepId: target?.id ?? id, evidence: evidenceFor(target ?? base.steps[0]!, roll !== 0) };
      }),
    },
    { weight: 6, arbitrary: fc.constantFrom(...stepIds).map((id): Draft => (at) => ({ type: 'startStep', stepId: id, actor: 'op', at })) },
    { weight: 6, arbitrary: fc.constant<Draft>((at) => ({ type: 'completeStep', actor: 'op', at })) },
    { weight: 4, arbitrary: fc.constant<Draft>((at) => ({ type: 'pause', actor: 'op', at, reason: 'hold' })) },
    { weight: 8, arbitrary: fc.constant<Draft>((at) => ({ type: 'resume', actor: 'op', at })) },
    {
      weight: 9,
      arbitrary: fc.tuple(fc.constantFrom(...stepIds, 'start'), fc.constantFrom('latency', 'latency', '')).map(([id, reason]): Draft => (at) => ({ type: 'rollback', toStep: id, reason, actor: 'op', at })),
    },
    { weight: 4, arbitrary: fc.constantFrom('gate failed', '').map((reason): Draft => (at) => ({ type: 'withdrawStep', reason, pause: true, actor: 'op', at })) },
    { weight: 2, arbitrary: fc.constant<Draft>((at) => ({ type: 'complete', actor: 'op', at })) },
    { weight: 1, arbitrary: fc.constant<Draft>((at) => ({ type: 'abort', actor: 'op', at, reason: 'stop' })) },
    { weight: 1, arbitrary: fc.constant<Draft>((at) => ({ type: 'plan', plan, actor: 'op', at })) },
  );

const scenarioArb = planArb.chain((plan) =>
  fc.record({
    plan: fc.constant(plan),
    steps: fc.array(fc.tuple(draftArb(plan), fc.integer({ min: 0, max: 40 })), { maxLength: 80, size: 'max' }),
  }),
);

interface Run {
  readonly events: MigrationEvent[];
  /** states[i] is the state after the first i events. */
  readonly states: MigrationState[];
}

/** Plans, then applies every drafted command at its time; rejected commands leave no event. */
function play(plan: Plan, steps: readonly [Draft, number][]): Run {
  let minute = 0;
  let state = initialState;
  const events: MigrationEvent[] = [];
  const states: MigrationState[] = [state];
  const drafts: [Draft, string][] = [[(at) => ({ type: 'plan', plan, actor: 'op', at }), new Date(T0).toISOString()]];
  for (const [draft, dt] of steps) {
    minute += dt;
    drafts.push([draft, new Date(T0 + minute * 60_000).toISOString()]);
  }
  for (const [draft, at] of drafts) {
    const c = draft(at, state);
    const d = decide(c, state);
    expect(decide(c, state)).toEqual(d); // pure: same input, same decision
    if (!d.ok) {
      expect(d.rejection.message.length).toBeGreaterThan(20);
      continue;
    }
    for (const e of d.events) {
      checkTransition(state, e);
      state = evolve(state, e);
      checkState(state);
      events.push(e);
      states.push(state);
    }
  }
  return { events, states };
}

/** Invariants of every reachable state. */
function checkState(s: MigrationState): void {
  const plan = s.plan;
  if (plan === undefined) return;
  const status = (id: string) => s.steps[id]?.status ?? 'pending';
  const stageRank = (name: string) => plan.stages.findIndex((x) => x.name === name);
  for (const step of plan.steps) {
    if (status(step.id) === 'pending') continue;
    // Phase N+1 anywhere only after phase N everywhere.
    for (const earlier of plan.steps.filter((x) => x.phase < step.phase)) expect(status(earlier.id)).toBe('completed');
    // Stages in order within a phase.
    for (const earlier of plan.steps.filter((x) => x.phase === step.phase && stageRank(x.stage) < stageRank(step.stage))) expect(status(earlier.id)).toBe('completed');
  }
  const live = plan.steps.filter((x) => status(x.id) === 'in-progress');
  if (s.status === 'active' || s.status === 'paused') {
    expect(live.map((x) => x.id)).toEqual(s.current === undefined ? [] : [s.current]);
  }
  // No writer emits v2 tokens unless every reader everywhere accepts them.
  if (Object.values(s.liveFlags).some((f) => f.tokenWriteMode === 'v2')) {
    for (const f of Object.values(s.liveFlags)) expect(readersAcceptBoth(f)).toBe(true);
  }
}

/** Invariants of single transitions. */
function checkTransition(before: MigrationState, e: MigrationEvent): void {
  expect(before.status === 'aborted' || before.status === 'completed').toBe(false);
  if (e.type === 'StepCompleted') {
    const step = before.plan?.steps.find((x) => x.id === e.stepId);
    const progress = before.steps[e.stepId];
    expect(step && progress?.startedAt).toBeTruthy();
    if (step === undefined || progress?.startedAt === undefined) return;
    expect(Date.parse(e.at) - Date.parse(progress.startedAt)).toBeGreaterThanOrEqual(step.bakeMinutes * 60_000);
    expect(progress.evidence.at(-1)?.passed).toBe(true);
    expect(before.status).toBe('active');
  }
  if (e.type === 'RolledBack') {
    for (const [stage, flags] of Object.entries(e.liveFlags)) {
      const prior = before.liveFlags[stage];
      if (prior !== undefined && readersAcceptBoth(prior)) expect(readersAcceptBoth(flags)).toBe(true);
    }
    expect(e.reason.trim()).not.toBe('');
  }
  if (e.type === 'StepStarted') expect(before.status).toBe('active');
  if (e.type === 'StepWithdrawn') {
    // Only the live step, only before any deployment, back to what its stage ran when it started.
    expect(before.current).toBe(e.stepId);
    expect(before.steps[e.stepId]?.deployment).toBeUndefined();
    expect(e.liveFlags).toEqual(before.steps[e.stepId]?.flagsBefore);
    expect(e.reason.trim()).not.toBe('');
  }
}

describe('migration decider properties', () => {
  it('no command sequence reaches a state that breaks a rollout invariant', () => {
    fc.assert(
      fc.property(scenarioArb, ({ plan, steps }) => {
        const { states } = play(plan, steps);
        const last = states.at(-1) ?? initialState;
        if (last.status === 'aborted' || last.status === 'completed') {
          for (const c of [{ type: 'advance', actor: 'x', at: new Date(T0 + 1e10).toISOString() }] as MigrationCommand[]) {
            expect(decide(c, last).ok).toBe(false);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('folding any prefix of the events gives the state recorded at that point', () => {
    fc.assert(
      fc.property(scenarioArb, ({ plan, steps }) => {
        const { events, states } = play(plan, steps);
        for (let i = 0; i <= events.length; i += 1) expect(fold(events.slice(0, i))).toEqual(states[i]);
      }),
      { numRuns: 100 },
    );
  });

  it('rebuilding from stored events is deterministic, including after a JSON round trip', () => {
    fc.assert(
      fc.property(scenarioArb, ({ plan, steps }) => {
        const { events, states } = play(plan, steps);
        const stored = JSON.parse(JSON.stringify(events)) as MigrationEvent[];
        expect(fold(stored)).toEqual(fold(events));
        expect(fold(events)).toEqual(states.at(-1));
        expect(fold(stored).version).toBe(events.length);
      }),
      { numRuns: 150 },
    );
  });

  it('reaches completion when commands are sensible, so the invariants are not vacuous', () => {
    let state = fold([]);
    let minute = 0;
    const at = () => new Date(T0 + (minute += 31) * 60_000).toISOString();
    const planned = decide({ type: 'plan', plan: { ...base, steps: base.steps.map((s) => ({ ...s, bakeMinutes: 30 })) }, actor: 'op', at: at() }, state);
    if (planned.ok) state = fold(planned.events, state);
    for (let i = 0; i < 30 && state.status === 'active'; i += 1) {
      const step = state.plan?.steps.find((s) => s.id === state.current);
      const c: MigrationCommand = step !== undefined && state.steps[step.id]?.evidence.length === 0
        ? { type: 'attachEvidence', actor: 'ci', at: at(), evidence: evidenceFor(step) }
        : { type: 'advance', actor: 'op', at: at() };
      const d = decide(c, state);
      if (d.ok) state = fold(d.events, state);
    }
    expect(state.status).toBe('completed');
  });
});
