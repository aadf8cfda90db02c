/**
 * For any sequence of step outcomes — gate passes or fails, a deployment completes or is rolled
 * back, an alarm fires while deploying or baking, a person rolls back to any earlier step, the
 * runner crashes (after starting a deployment and before recording it, or anywhere else) — the real planner and the real decider,
 * driving simulated AppConfig environments in which a gradual deployment leaves old and new
 * flags live side by side, never put a reader next to a token format it cannot read: every
 * flag set live anywhere accepts every token format ever written. A failed gate withdraws the
 * step and stops without deploying anything (not even a reconcile).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readJsonFile, PACKAGE_ROOT } from '../../src/config/index.js';
import { decide, evolve, initialState, parseMigrationDefinition, type Flags, type MigrationCommand, type MigrationState, type Plan } from '../../src/migration/index.js';
import { nextAction, sameFlags, type Observations } from '../../src/rollout/index.js';

const file = `${PACKAGE_ROOT}/migrations/001-legacy-4-to-7-tier.json`;
const plan: Plan = parseMigrationDefinition(readJsonFile(file), file);

type Outcome = 'pass' | 'gate-fail' | 'complete' | 'rolled-back' | 'alarm' | 'crash' | 'manual-rollback';

interface Env {
  deployed: Flags;
  running?: { number: number; to: Flags; marker: string; state: 'DEPLOYING' | 'COMPLETE' | 'ROLLED_BACK' };
}

const reads = (reader: Flags, format: 'v1' | 'v2') => reader.tokenReadMode === 'dual' || reader.tokenReadMode === format;

function check(envs: Record<string, Env>, written: Set<'v1' | 'v2'>): string | undefined {
  const live = Object.values(envs).flatMap((e) => (e.running?.state === 'DEPLOYING' ? [e.deployed, e.running.to] : [e.deployed]));
  for (const f of live) written.add(f.tokenWriteMode);
  for (const reader of live) for (const format of written) if (!reads(reader, format)) return `a ${reader.tokenReadMode} reader meets ${format} tokens`;
  return undefined;
}

function simulate(outcomes: readonly Outcome[]): { problem?: string; state: MigrationState; actions: number } {
  let state = fold([{ type: 'plan', plan, actor: 't', at: iso(0) }]);
  let now = 1;
  let deploymentNumber = 0;
  const envs: Record<string, Env> = Object.fromEntries(plan.stages.map((s) => [s.name, { deployed: plan.initialFlags }]));
  const written = new Set<'v1' | 'v2'>();
  let next = 0;
  const draw = (): Outcome => outcomes[next++ % outcomes.length] as Outcome;
  let alarm: Observations['alarm'];
  // Set by a withdrawal (a failed gate): the very next action must deploy nothing.
  let withdrawn: string | undefined;
  for (let i = 0; i < 400; i += 1) {
    const problem = check(envs, written);
    if (problem !== undefined) return { problem, state, actions: i };
    const live = state.current === undefined ? undefined : plan.steps.find((s) => s.id === state.current);
    const d = live === undefined ? undefined : state.steps[live.id]?.deployment;
    const obs: Observations = {
      now: iso(now),
      stages: Object.fromEntries(Object.entries(envs).map(([name, e]) => [name, { deployedFlags: e.deployed, running: e.running?.state === 'DEPLOYING' ? { number: e.running.number, state: 'DEPLOYING' } : undefined }])),
      ...(d !== undefined && live !== undefined && envs[live.stage]?.running?.number === d.number ? { stepDeployment: { number: d.number, state: envs[live.stage]?.running?.state ?? 'DEPLOYING' } } : {}),
      ...(alarm === undefined ? {} : { alarm }),
    };
    const action = nextAction(state, obs);
    if (withdrawn !== undefined) {
      if (action.kind !== 'paused') return { problem: `after ${withdrawn} was withdrawn on a failed gate the runner would ${action.kind}, not stop`, state, actions: i };
      withdrawn = undefined;
    }
    const at = iso(now);
    const apply = (c: MigrationCommand) => {
      const decision = decide(c, state);
      if (!decision.ok) throw new Error(`${c.type} refused: ${decision.rejection.message}`);
      state = decision.events.reduce(evolve, state);
    };
    now += 1;
    switch (action.kind) {
      case 'finished':
        return { state, actions: i };
      case 'paused':
        apply({ type: 'resume', actor: 't', at });
        alarm = undefined;
        break;
      case 'wait':
      case 'watch': {
        // A deployment in progress ends: the drawn outcome says how.
        for (const e of Object.values(envs)) {
          if (e.running?.state !== 'DEPLOYING') continue;
          const o = draw();
          if (o === 'rolled-back') e.running.state = 'ROLLED_BACK';
          else if (o === 'alarm' && action.kind === 'watch') alarm = { name: 'errors', detail: 'drawn' };
          else {
            e.running.state = 'COMPLETE';
            e.deployed = e.running.to;
          }
        }
        break;
      }
      case 'reconcile': {
        const env = envs[action.stage] as Env;
        env.running = { number: ++deploymentNumber, to: action.flags, marker: 'reconcile', state: 'DEPLOYING' };
        break;
      }
      case 'start-step':
        apply({ type: 'startStep', stepId: action.step.id, actor: 't', at });
        break;
      case 'gather-evidence': {
        const passed = draw() !== 'gate-fail';
        const alarms = Object.fromEntries(action.step.gate.alarms.map((a) => [a, 'OK' as const]));
        const totals = { read: 10, quarantined: 0, compared: 10 };
        const outcomesOf = { same: 10, changed: 0, baselineError: 0, candidateError: 0, bothError: 0 };
        apply({ type: 'attachEvidence', stepId: action.step.id, actor: 't', at, evidence: { source: 'sim', totals, outcomes: outcomesOf, verdict: { passed, failures: passed ? [] : [{ threshold: 'x', measured: 1, limit: 0 }] }, alarms } });
        break;
      }
      case 'deploy': {
        const env = envs[action.step.stage] as Env;
        const marker = `${action.step.id}/${action.run}`;
        let number = env.running?.marker === marker ? env.running.number : undefined;
        if (number === undefined) {
          if (env.running?.state === 'DEPLOYING') break;
          number = ++deploymentNumber;
          env.running = { number, to: action.flags, marker, state: 'DEPLOYING' };
        }
        // A crash between StartDeployment and the append: the next round finds it by its marker.
        if (draw() === 'crash') break;
        apply({ type: 'recordDeployment', stepId: action.step.id, state: 'started', deployment: { environment: action.step.stage, number, configVersion: '1' }, actor: 't', at });
        break;
      }
      case 'record-deployed': {
        const dep = state.steps[action.step.id]?.deployment;
        if (dep !== undefined) apply({ type: 'recordDeployment', stepId: action.step.id, state: 'complete', deployment: dep, actor: 't', at });
        break;
      }
      case 'bake': {
        const o = draw();
        if (o === 'alarm') alarm = { name: 'latency', detail: 'drawn' };
        else if (o === 'manual-rollback') {
          // A person takes the fleet back on purpose (prio rollout rollback --to), anywhere before the live step.
          const done = plan.steps.filter((s) => state.steps[s.id]?.status === 'completed');
          const target = done[next % (done.length + 1)]?.id ?? 'start';
          apply({ type: 'rollback', toStep: target, reason: 'on purpose', pause: true, actor: 't', at });
        } else now = Date.parse(action.until) / 60_000 - T0_MIN + 1;
        break;
      }
      case 'complete-step':
        apply({ type: 'completeStep', stepId: action.step.id, actor: 't', at });
        break;
      case 'complete-migration':
        apply({ type: 'complete', actor: 't', at });
        break;
      case 'withdraw':
        if (state.steps[action.step.id]?.deployment !== undefined) return { problem: `${action.step.id} withdrawn after its deployment started`, state, actions: i };
        apply({ type: 'withdrawStep', stepId: action.step.id, reason: action.reason, pause: true, actor: 't', at });
        withdrawn = action.step.id;
        break;
      case 'rollback': {
        if (action.stop !== undefined) {
          const env = envs[action.step.stage] as Env;
          if (env.running?.number === action.stop.number && env.running.state === 'DEPLOYING') env.running.state = 'ROLLED_BACK';
        }
        apply({ type: 'rollback', toStep: action.toStep, reason: action.reason, pause: true, actor: 't', at });
        alarm = undefined;
        break;
      }
    }
  }
  return { state, actions: 400 };
}

const T0_MIN = Date.parse('2027-01-01T00:00:00Z') / 60_000;
const iso = (minute: number) => new Date((T0_MIN + minute) * 60_000).toISOString();
const fold = (commands: MigrationCommand[]): MigrationState =>
  commands.reduce((s, c) => {
    const d = decide(c, s);
    if (!d.ok) throw new Error(d.rejection.message);
    return d.events.reduce(evolve, s);
  }, initialState);

const outcome = fc.constantFrom<Outcome>('pass', 'pass', 'pass', 'complete', 'complete', 'gate-fail', 'rolled-back', 'alarm', 'crash', 'manual-rollback');

describe('rollout planner × decider under any sequence of step outcomes', () => {
  it('no reader ever meets a token format it cannot read', () => {
    fc.assert(
      fc.property(fc.array(outcome, { minLength: 1, maxLength: 60 }), (outcomes) => {
        const result = simulate(outcomes);
        expect(result.problem).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('a failed gate withdraws the step and stops at once, deploying nothing, wherever it happens', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<Outcome>('pass', 'complete'), { maxLength: 20 }), (before) => {
        // Some steps pass, then a gate fails: the simulation checks the next action is the stop.
        const result = simulate([...before, 'gate-fail', 'pass', 'complete']);
        expect(result.problem).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });

  it('with every outcome a success, the migration completes and every stage writes v2 with dual readers', () => {
    const result = simulate(['pass', 'complete']);
    expect(result.state.status).toBe('completed');
    for (const { name } of plan.stages) expect(sameFlags(result.state.liveFlags[name], { ...plan.initialFlags, priorityScheme: 'dual', tokenReadMode: 'dual', tokenWriteMode: 'v2', serviceTierMode: 'enforced', rulesVersion: 'tiered-7.1' })).toBe(true);
  });
});
