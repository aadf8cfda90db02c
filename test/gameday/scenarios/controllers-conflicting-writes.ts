/**
 * Two controllers append to the same migration stream at once, each through its own DynamoDB
 * client (DynamoDB Local, a fresh table): every command of the migration is sent by both at the
 * same instant under different command ids. DynamoDB's conditional writes make one of each pair
 * lose the race (the conflict is observed, counted by the stores); the loser reads again and the
 * decider, seeing the winner's event, refuses the duplicate. The stream must stay one valid
 * history: versions without a gap, no command appended twice, no accepted command missing,
 * replayed by the decider to a completed migration.
 */
import { handleCommand, type CommandOutcome, type MigrationCommand } from '../../../src/migration/index.js';
import { evidenceFor, fastPlan } from '../../support/migration/fixtures.js';
import { CountingStore, auditStream, freshTable, ownStore } from '../fleet/gd-control.js';
import { observe, type Scenario } from '../scenario.js';

interface Round {
  readonly what: string;
  /** Both commands must be accepted (evidence accumulates); otherwise exactly one wins. */
  readonly both: boolean;
  readonly outcomes: readonly CommandOutcome[];
  readonly commandIds: readonly string[];
}

export const scenario: Scenario = {
  id: 'controllers-conflicting-writes',
  title: 'Two controllers append to one migration stream at the same time',
  family: 'rollout',
  fault: 'two writers, each with its own DynamoDB client, send every command of a migration (plan, start, deployment started/complete, complete step, complete) at the same instant to one stream on DynamoDB Local',
  expected: 'conditional-write conflicts happen; of each competing pair exactly one is accepted and the other refused by the decider; evidence sent by both is kept twice; the stream replays to a completed migration with no gap, no event twice, none lost',
  hypothesis: { steadyState: 'the migration stream: one valid history', bound: 'exactly 1 winner per competing pair; versions 1..n; 0 commands appended twice; every accepted command\'s events in the stream; replay = completed' },
  ci: true,
  timeoutMs: 25_000,
  async run(ctx) {
    const table = await freshTable(ctx);
    const a = new CountingStore(ownStore(ctx, table));
    const b = new CountingStore(ownStore(ctx, table));
    const plan = fastPlan(`gd-conflict-${Date.now().toString(36)}`, 0);
    ctx.log(`table ${table}, migration ${plan.id} (${plan.steps.length} steps, no bake)`);
    const rounds: Round[] = [];
    let n = 0;
    const startedAt = Date.now();

    /** Both controllers send `make(name)` at once; the round is recorded. */
    const race = async (what: string, make: (actor: string) => MigrationCommand, both = false): Promise<readonly CommandOutcome[]> => {
      const ids = [`a-${++n}`, `b-${n}`];
      const outcomes = await Promise.all(
        [a, b].map((store, i) => handleCommand(plan.id, make(i === 0 ? 'controller-a' : 'controller-b'), { store, commandId: ids[i] as string, clock: () => new Date() })),
      );
      rounds.push({ what, both, outcomes, commandIds: ids });
      return outcomes;
    };
    const at = () => new Date().toISOString();

    await race('plan', (actor) => ({ type: 'plan', plan, actor, at: at() }));
    for (const step of plan.steps) {
      await race(`${step.id}: start`, (actor) => ({ type: 'startStep', stepId: step.id, actor, at: at() }));
      await race(`${step.id}: evidence`, (actor) => ({ type: 'attachEvidence', stepId: step.id, evidence: evidenceFor(step), actor, at: at() }), true);
      // Each claims a deployment of its own: only one may be recorded for the run of the step.
      const started = await race(`${step.id}: deployment started`, (actor) => ({ type: 'recordDeployment', stepId: step.id, state: 'started', deployment: { environment: step.stage, number: actor === 'controller-a' ? 1 : 2, configVersion: '1' }, actor, at: at() }));
      const winner = started.findIndex((o) => o.outcome === 'accepted');
      const number = winner === 0 ? 1 : 2;
      await race(`${step.id}: deployment complete`, (actor) => ({ type: 'recordDeployment', stepId: step.id, state: 'complete', deployment: { environment: step.stage, number, configVersion: '1' }, actor, at: at() }));
      await race(`${step.id}: complete step`, (actor) => ({ type: 'completeStep', stepId: step.id, actor, at: at() }));
    }
    await race('complete', (actor) => ({ type: 'complete', actor, at: at() }));
    const tookMs = Date.now() - startedAt;

    const conflicts = a.conflicts + b.conflicts;
    const exclusive = rounds.filter((r) => !r.both);
    const wrongWinners = exclusive.filter((r) => r.outcomes.filter((o) => o.outcome === 'accepted').length !== 1);
    const refusedBoth = rounds.filter((r) => r.both && r.outcomes.some((o) => o.outcome !== 'accepted'));
    for (const r of wrongWinners) ctx.log(`round "${r.what}": ${r.outcomes.map((o) => (o.outcome === 'accepted' ? 'accepted' : `rejected (${o.rejection.invariant})`)).join(', ')}`);
    const refusals = new Map<string, number>();
    for (const r of exclusive) for (const o of r.outcomes) if (o.outcome === 'rejected') refusals.set(o.rejection.invariant, (refusals.get(o.rejection.invariant) ?? 0) + 1);
    ctx.log(`${rounds.length} rounds in ${tookMs} ms: ${conflicts} conditional-write conflicts (a ${a.conflicts}, b ${b.conflicts}); losers refused by ${[...refusals].map(([k, v]) => `${k} ×${v}`).join(', ')}`);

    const audit = await auditStream(a, plan.id);
    const byCommand = new Map<string, number>();
    for (const e of audit.stored) byCommand.set(e.meta.commandId, (byCommand.get(e.meta.commandId) ?? 0) + 1);
    let lost = 0;
    let strays = 0;
    for (const r of rounds) {
      r.outcomes.forEach((o, i) => {
        const stored = byCommand.get(r.commandIds[i] as string) ?? 0;
        if (o.outcome === 'accepted' && stored !== o.events.length) lost += 1;
        if (o.outcome === 'rejected' && stored !== 0) strays += 1;
      });
    }
    const expectedEvents = rounds.reduce((sum, r) => sum + r.outcomes.reduce((s, o) => s + (o.outcome === 'accepted' ? o.events.length : 0), 0), 0);
    const completedSteps = plan.steps.filter((s) => audit.state.steps[s.id]?.status === 'completed').length;
    const oneDeployment = plan.steps.every((s) => audit.deploymentsStarted[s.id] === 1);
    ctx.log(`stream: ${audit.stored.length} events (expected ${expectedEvents}), replay status ${audit.state.status}, ${completedSteps}/${plan.steps.length} steps completed${audit.error === undefined ? '' : `, read error: ${audit.error}`}`);

    return {
      faultObserved: conflicts >= 1,
      faultEvidence: `${conflicts} appends lost a DynamoDB conditional write (ConcurrencyConflict) over ${rounds.length} simultaneous pairs and were retried after a re-read`,
      observations: [
        observe('during', 'conditional-write conflicts', conflicts, { text: '≥ 1 (the race really happened)', holds: conflicts >= 1 }),
        observe('during', 'competing pairs with exactly one winner', exclusive.length - wrongWinners.length, { text: `= ${exclusive.length} of ${exclusive.length}`, holds: wrongWinners.length === 0 }),
        observe('during', 'evidence pairs with both kept', rounds.filter((r) => r.both).length - refusedBoth.length, { text: `= ${rounds.filter((r) => r.both).length}`, holds: refusedBoth.length === 0 }),
        observe('after', 'stream versions contiguous from 1', audit.contiguous && audit.error === undefined, { text: 'yes', holds: audit.contiguous && audit.error === undefined }),
        observe('after', 'commands appended twice', audit.duplicated.length, { text: '= 0', holds: audit.duplicated.length === 0 }),
        observe('after', 'accepted commands whose events are missing or extra', lost, { text: '= 0', holds: lost === 0 }),
        observe('after', 'refused commands with events in the stream', strays, { text: '= 0', holds: strays === 0 }),
        observe('after', 'events in the stream', audit.stored.length, { text: `= ${expectedEvents} (the accepted ones)`, holds: audit.stored.length === expectedEvents }),
        observe('after', 'replayed status', audit.state.status, { text: '= completed, every step completed', holds: audit.state.status === 'completed' && completedSteps === plan.steps.length }),
        observe('after', 'DeploymentStarted per step', oneDeployment ? 1 : JSON.stringify(audit.deploymentsStarted), { text: '= 1 for each step', holds: oneDeployment }),
      ],
      ...(a.firstConflictAt === undefined && b.firstConflictAt === undefined ? {} : { timeToDetectMs: Math.min(a.firstConflictAt ?? Infinity, b.firstConflictAt ?? Infinity) - startedAt }),
      notes: [`detect: from the first simultaneous pair to the first conditional write DynamoDB refused; ${rounds.length} pairs took ${tookMs} ms`],
    };
  },
};
