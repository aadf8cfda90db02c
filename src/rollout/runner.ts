/**
 * The rollout runner: the imperative shell around the planner. It holds the migration's lease
 * (every append carries its fencing token), and in a loop reads the event stream, observes the
 * stages' environments, the live step's deployment and its alarms, asks the planner for the
 * next action and performs it. Everything it must remember lives in the stream, so a runner
 * killed at any point and started again (here or elsewhere) carries on from where the stream
 * says the rollout is: a deployment it started is found again by the marker in its description,
 * never started twice.
 */
import { FencedAppend, isTransientError, type EventStore, type Lease, type LeaseManager } from '../eventstore/index.js';
import { describeFlags, handleCommand, loadMigration, type Flags, type MigrationCommand, type MigrationEvent, type MigrationState, type Plan } from '../migration/index.js';
import type { ProgressReporter } from '../shadow/index.js';
import { alarmStates, type AlarmSource } from './alarm-source.js';
import { realMsUntil, scaledClock } from './clock.js';
import type { GatheredEvidence, EvidenceRequest } from './evidence.js';
import { nextAction, type Observations, type RolloutAction, type StageObservation } from './planner.js';
import type { RolloutSettings } from './settings.js';

/** The environments of the stages (see stages.ts). */
export interface StagePort {
  observe(stage: string): Promise<StageObservation>;
  publish(flags: Flags): Promise<string>;
  findDeployment(stage: string, version: string, marker: string): Promise<number | undefined>;
  start(stage: string, version: string, strategy: string, description: string): Promise<number>;
  state(stage: string, number: number): Promise<string>;
  stop(stage: string, number: number): Promise<void>;
}

export interface RunnerEvent {
  readonly at: string;
  readonly kind: string;
  readonly step?: string;
  readonly message: string;
}

export interface RunnerDeps {
  readonly store: EventStore;
  /** Absent (the file store): no lease is held, so run one runner at a time. */
  readonly leases?: LeaseManager;
  readonly stages: StagePort;
  readonly alarms: AlarmSource;
  readonly evidence: (request: Omit<EvidenceRequest, 'domain' | 'ruleSets' | 'progress'>) => Promise<GatheredEvidence>;
  readonly wall: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly newId: () => string;
  readonly log: (event: RunnerEvent) => void;
  readonly progress?: ProgressReporter;
  /** Called with each decision's events before they are appended (see {@link pauseBeforeAppend}); absent in normal use. */
  readonly beforeAppend?: (events: readonly MigrationEvent[]) => void | Promise<void>;
}

/** The environment variable naming the fault-injection point of game days: `<EventType>:<ms>`. */
export const PAUSE_BEFORE_APPEND_ENV = 'PRIO_TEST_PAUSE_BEFORE_APPEND';

/**
 * A fault-injection point for game days: when the runner has decided an event of `type`
 * (`<EventType>:<ms>`, e.g. `DeploymentStarted:5000`) it logs a `fault-point` line and waits `ms`
 * before appending, so a scenario can SIGKILL it between deciding and appending. Undefined when
 * `spec` is unset or empty. A spec that does not parse is refused with one line.
 */
export function pauseBeforeAppend(spec: string | undefined, log: (event: RunnerEvent) => void, sleep: (ms: number) => Promise<void>, wall: () => number = Date.now): RunnerDeps['beforeAppend'] {
  if (spec === undefined || spec === '') return undefined;
  const m = /^([A-Za-z]+):(\d+)$/.exec(spec);
  if (m === null) throw new RolloutError(`${PAUSE_BEFORE_APPEND_ENV} must be <EventType>:<ms> (e.g. DeploymentStarted:5000), got "${spec}"`);
  const type = m[1] as string;
  const ms = Number(m[2]);
  return async (events) => {
    const hit = events.find((e) => e.type === type);
    if (hit === undefined) return;
    log({ at: new Date(wall()).toISOString(), kind: 'fault-point', message: `decided ${type}; waiting ${ms} ms before appending (${PAUSE_BEFORE_APPEND_ENV})`, ...('stepId' in hit ? { step: hit.stepId } : {}) });
    await sleep(ms);
  };
}

export interface RunnerOptions {
  readonly migrationId: string;
  /** Planned first when the stream is empty. */
  readonly plan?: Plan;
  readonly owner: string;
  readonly settings: RolloutSettings;
  readonly until?: string;
  readonly leaseTtlMs: number;
  readonly signal?: AbortSignal;
  /** Only bring every stage to the flags the stream says it runs, then stop (rollback --to). */
  readonly reconcileOnly?: boolean;
}

export type RunOutcome =
  | { readonly kind: 'completed' }
  | { readonly kind: 'until-reached'; readonly step: string }
  | { readonly kind: 'reconciled' }
  /** The runner rolled a step back (or found the migration paused after one): exit 3. */
  | { readonly kind: 'rolled-back'; readonly reason: string }
  | { readonly kind: 'paused'; readonly reason: string }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'stopped' };

/** The runner cannot go on: a command refused, a stage without settings, nothing planned. One line for a person. */
export class RolloutError extends Error {
  override readonly name = 'RolloutError';
}

class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

export const ALL_AT_ONCE_STRATEGY = 'all-at-once';

/** Waits after a transient failure (throttling, an unreachable store): the first, doubling up to the cap. */
export const TRANSIENT_RETRY = { firstMs: 250, capMs: 5_000 } as const;

/** The marker a step's deployment carries in its description, by which a restarted runner finds it. */
export function deploymentMarker(migrationId: string, stepId: string, run: number): string {
  return `prio rollout ${migrationId} step ${stepId} run ${run}`;
}

export async function runRollout(options: RunnerOptions, deps: RunnerDeps): Promise<RunOutcome> {
  const { migrationId, settings } = options;
  const leaseName = `migration-${migrationId}`;
  const pollMs = settings.pollSeconds * 1000;
  let lease: Lease | undefined;
  let renewTimer: NodeJS.Timeout | undefined;
  let lost = false;
  let rolledBack: string | undefined;
  /** Transient failures in a row; reset once an action goes through. */
  let transient = 0;
  /**
   * Set once the stream was read and the stages observed: from then on a transient failure is an
   * outage to ride out; before, it is more likely a wrong endpoint, reported at once.
   */
  let reached = false;
  const log = (kind: string, message: string, step?: string) => deps.log({ at: new Date(deps.wall()).toISOString(), kind, message, ...(step === undefined ? {} : { step }) });

  const acquire = async (): Promise<boolean> => {
    if (deps.leases === undefined) return true;
    let announced = false;
    while (options.signal?.aborted !== true) {
      const got = await deps.leases.acquire(leaseName, options.owner, options.leaseTtlMs, deps.wall());
      if (got.acquired) {
        lease = got.lease;
        lost = false;
        log('lease', `holding ${leaseName} with fencing token ${lease.token}`);
        // Renewed in the background: evidence replays and waits must not let it lapse.
        renewTimer = setInterval(() => {
          const held = lease;
          if (held === undefined || deps.leases === undefined) return;
          deps.leases.renew(held, options.leaseTtlMs, deps.wall()).then(
            (renewed) => {
              if (renewed === undefined) lost = true;
              else if (lease !== undefined) lease = renewed;
            },
            () => undefined, // a store briefly unreachable: the next renew or fenced append tells
          );
        }, Math.max(50, Math.floor(options.leaseTtlMs / 3)));
        return true;
      }
      if (!announced) log('lease', `waiting: ${got.holder} holds ${leaseName} until ${new Date(got.expiresAt).toISOString()}`);
      announced = true;
      await deps.sleep(Math.max(100, Math.floor(options.leaseTtlMs / 4)));
    }
    return false;
  };
  const stopRenewing = () => {
    if (renewTimer !== undefined) clearInterval(renewTimer);
    renewTimer = undefined;
  };
  const checkLease = () => {
    if (lost) throw new LeaseLost(`lease ${leaseName} was lost`);
  };

  const command = async (cmd: MigrationCommand, commandId: string = deps.newId()) => {
    checkLease();
    const fence = deps.leases !== undefined && lease !== undefined ? { fence: { lease: leaseName, token: lease.token } } : {};
    return handleCommand(migrationId, cmd, { store: deps.store, commandId, clock: () => new Date(deps.wall()), ...fence, ...(deps.beforeAppend === undefined ? {} : { beforeAppend: deps.beforeAppend }) });
  };

  try {
    for (;;) {
      if (options.signal?.aborted === true) return { kind: 'stopped' };
      try {
        if (lease === undefined && !(await acquire())) return { kind: 'stopped' };
        const outcome = await loop();
        return outcome;
      } catch (err) {
        if (reached && !(err instanceof LeaseLost || err instanceof FencedAppend) && isTransientError(err)) {
          // Throttled or unreachable (the store or AppConfig): wait and start the loop again from
          // the stream. Whatever the failed call was, the next round decides afresh; a deployment
          // started just before is found again by its marker. The lease is kept (renewed in the
          // background); if it lapses and another runner takes it, the next append is fenced.
          const waitMs = Math.min(TRANSIENT_RETRY.capMs, TRANSIENT_RETRY.firstMs * 2 ** transient);
          transient += 1;
          log('retry', `${(err as Error).name}: ${(err as Error).message.split('\n')[0] ?? ''} (${transient} in a row); retrying in ${waitMs} ms`);
          await deps.sleep(waitMs);
          continue;
        }
        if (!(err instanceof LeaseLost || err instanceof FencedAppend)) throw err;
        log('lease', `lost ${leaseName} (${(err as Error).message}); waiting to take it again`);
        stopRenewing();
        lease = undefined;
      }
    }
  } finally {
    stopRenewing();
    if (lease !== undefined && deps.leases !== undefined) await deps.leases.release(lease).catch(() => undefined);
  }

  async function loop(): Promise<RunOutcome> {
    let loaded = await loadMigration(deps.store, migrationId);
    if (loaded.state.status === 'unplanned') {
      if (options.plan === undefined) throw new RolloutError(`migration ${migrationId} is not planned: give its definition file, or run prio migrate plan first`);
      await command({ type: 'plan', plan: options.plan, actor: options.owner, at: new Date(deps.wall()).toISOString() }, `${migrationId}/plan`);
      log('plan', `planned ${migrationId}`);
      loaded = await loadMigration(deps.store, migrationId);
    }
    const anchor = Date.parse(loaded.events[0]?.at ?? new Date(deps.wall()).toISOString());
    const clock = scaledClock(anchor, settings.timeScale, deps.wall);
    let lastWait = '';
    for (;;) {
      if (options.signal?.aborted === true) return { kind: 'stopped' };
      checkLease();
      const state = (await loadMigration(deps.store, migrationId)).state;
      const obs = await observe(state, clock().toISOString());
      reached = true;
      const action = nextAction(state, obs, options.until === undefined ? {} : { until: options.until });
      if (options.reconcileOnly === true && action.kind !== 'reconcile' && action.kind !== 'wait') return { kind: 'reconciled' };
      if (action.kind !== 'wait') lastWait = '';
      const done = await perform(action, state, obs);
      transient = 0;
      if (done !== undefined) return done;
      if (action.kind === 'wait' && action.reason !== lastWait) {
        lastWait = action.reason;
        log('wait', action.reason);
      }
    }

    async function perform(action: RolloutAction, state: MigrationState, obs: Observations): Promise<RunOutcome | undefined> {
      const plan = state.plan as Plan;
      switch (action.kind) {
        case 'finished':
          if (action.status === 'until-reached') return { kind: 'until-reached', step: action.step ?? '' };
          return action.status === 'completed' ? { kind: 'completed' } : { kind: 'aborted' };
        case 'paused':
          return rolledBack !== undefined ? { kind: 'rolled-back', reason: rolledBack } : { kind: 'paused', reason: action.reason };
        case 'wait':
        case 'watch':
          await deps.sleep(pollMs);
          return undefined;
        case 'reconcile': {
          const version = await deps.stages.publish(action.flags);
          checkLease();
          const number = await deps.stages.start(action.stage, version, ALL_AT_ONCE_STRATEGY, `prio rollout ${migrationId}: ${action.stage} back to the flags the migration runs there (${describeFlags(action.flags)})`);
          log('reconcile', `${action.stage}: deployment #${number} of flags v${version} (${describeFlags(action.flags)}) with ${ALL_AT_ONCE_STRATEGY}`);
          await deps.sleep(pollMs);
          return undefined;
        }
        case 'start-step': {
          const run = (state.steps[action.step.id]?.runs ?? 0) + 1;
          const out = await command({ type: 'startStep', stepId: action.step.id, actor: options.owner, at: clock().toISOString() }, `${migrationId}/${action.step.id}/run${run}/start`);
          if (out.outcome === 'rejected') throw new RolloutError(`cannot start ${action.step.id}: ${out.rejection.message}`);
          log('start', `started ${action.step.id} in ${action.step.stage} (run ${run})`, action.step.id);
          return undefined;
        }
        case 'gather-evidence': {
          const step = action.step;
          const stageSettings = settings.stages[step.stage];
          if (stageSettings === undefined) throw new RolloutError(`no settings for stage ${step.stage}`);
          await deps.alarms.resetWindow(step.stage);
          const run = state.steps[step.id]?.runs ?? 1;
          const before = obs.stages[step.stage]?.deployedFlags ?? plan.initialFlags;
          const gathered = await deps.evidence({
            step,
            run,
            before,
            after: state.liveFlags[step.stage] ?? plan.initialFlags,
            log: stageSettings.requestLog,
            records: settings.evidenceRecords,
            outDir: settings.outDir,
            alarms: {},
          });
          const alarms = alarmStates(await deps.alarms.read(step.stage, step.gate.alarms));
          const evidence = { ...gathered.evidence, alarms };
          const out = await command({ type: 'attachEvidence', stepId: step.id, evidence, actor: options.owner, at: clock().toISOString() });
          if (out.outcome === 'rejected') throw new RolloutError(`evidence for ${step.id} refused: ${out.rejection.message}`);
          const event = out.events[0];
          const passed = event?.type === 'EvidenceAttached' ? event.passed : false;
          log('evidence', `${step.id}: ${evidence.totals.compared} requests replayed, ${evidence.outcomes.changed} changed, gate ${passed ? 'passed' : 'FAILED'} (${gathered.reportDir})`, step.id);
          return undefined;
        }
        case 'deploy': {
          const { step, run } = action;
          const stageSettings = settings.stages[step.stage];
          if (stageSettings === undefined) throw new RolloutError(`no settings for stage ${step.stage}`);
          const version = await deps.stages.publish(action.flags);
          const marker = deploymentMarker(migrationId, step.id, run);
          let number = await deps.stages.findDeployment(step.stage, version, marker);
          if (number !== undefined) log('deploy', `found deployment #${number} of ${step.id} started before a restart`, step.id);
          else {
            const running = obs.stages[step.stage]?.running;
            if (running !== undefined) {
              await deps.sleep(pollMs);
              return undefined;
            }
            checkLease();
            number = await deps.stages.start(step.stage, version, stageSettings.strategy, `${marker}: ${describeFlags(action.flags)}`);
            log('deploy', `${step.stage}: deployment #${number} of flags v${version} with ${stageSettings.strategy} (${describeFlags(action.flags)})`, step.id);
          }
          await deps.alarms.resetWindow(step.stage);
          const out = await command(
            { type: 'recordDeployment', stepId: step.id, state: 'started', deployment: { environment: stageSettings.environment, number, configVersion: version }, actor: options.owner, at: clock().toISOString() },
            `${marker}/deployment-started`,
          );
          if (out.outcome === 'rejected') throw new RolloutError(`deployment #${number} of ${step.id} could not be recorded: ${out.rejection.message}`);
          return undefined;
        }
        case 'record-deployed': {
          const progress = state.steps[action.step.id];
          const d = progress?.deployment;
          if (d === undefined) return undefined;
          await command(
            { type: 'recordDeployment', stepId: action.step.id, state: 'complete', deployment: { environment: d.environment, number: d.number, configVersion: d.configVersion }, actor: options.owner, at: clock().toISOString() },
            `${deploymentMarker(migrationId, action.step.id, progress?.runs ?? 0)}/deployment-complete`,
          );
          log('deployed', `deployment #${d.number} of ${action.step.id} complete; baking ${action.step.bakeMinutes} min`, action.step.id);
          return undefined;
        }
        case 'bake':
          await deps.sleep(Math.min(pollMs, Math.max(10, realMsUntil(action.until, clock().toISOString(), settings.timeScale))));
          return undefined;
        case 'complete-step': {
          const out = await command({ type: 'completeStep', stepId: action.step.id, actor: options.owner, at: clock().toISOString() });
          if (out.outcome === 'rejected') {
            log('blocked', out.rejection.message, action.step.id);
            await deps.sleep(pollMs);
          } else log('complete', `completed ${action.step.id}`, action.step.id);
          return undefined;
        }
        case 'complete-migration': {
          const out = await command({ type: 'complete', actor: options.owner, at: clock().toISOString() });
          if (out.outcome === 'rejected') throw new RolloutError(`cannot complete ${migrationId}: ${out.rejection.message}`);
          log('complete', `completed the migration ${migrationId}`);
          return undefined;
        }
        case 'withdraw': {
          log('rollback', `withdrawing ${action.step.id} before any deployment: ${action.reason}`, action.step.id);
          const out = await command({ type: 'withdrawStep', stepId: action.step.id, reason: action.reason, pause: true, actor: options.owner, at: clock().toISOString() });
          if (out.outcome === 'rejected') throw new RolloutError(`withdrawal of ${action.step.id} refused: ${out.rejection.message}`);
          rolledBack = action.reason;
          return undefined;
        }
        case 'rollback': {
          log('rollback', `rolling ${action.step.id} back to ${action.toStep}: ${action.reason}`, action.step.id);
          if (action.stop !== undefined) {
            await deps.stages.stop(action.step.stage, action.stop.number).catch((err: unknown) => log('rollback', `stopping deployment #${action.stop?.number}: ${(err as Error).message}`));
          }
          const out = await command({ type: 'rollback', toStep: action.toStep, reason: action.reason, pause: true, actor: options.owner, at: clock().toISOString() });
          if (out.outcome === 'rejected') throw new RolloutError(`rollback of ${action.step.id} refused: ${out.rejection.message}`);
          rolledBack = action.reason;
          return undefined;
        }
      }
    }
  }

  async function observe(state: MigrationState, now: string): Promise<Observations> {
    const plan = state.plan;
    if (plan === undefined) return { now, stages: {} };
    const stages: Record<string, StageObservation> = {};
    for (const { name } of plan.stages) stages[name] = await deps.stages.observe(name);
    const live = state.current === undefined ? undefined : plan.steps.find((s) => s.id === state.current);
    const deployment = live === undefined ? undefined : state.steps[live.id]?.deployment;
    if (live === undefined || deployment === undefined) return { now, stages };
    let stepDeployment: Observations['stepDeployment'];
    if (deployment.completedAt === undefined) stepDeployment = { number: deployment.number, state: await deps.stages.state(live.stage, deployment.number) };
    const read = await deps.alarms.read(live.stage, live.gate.alarms);
    const firing = read.readings.find((r) => r.state === 'ALARM');
    const alarm =
      read.unreachable.length > 0
        ? { name: 'fleet-unreachable', detail: `${read.unreachable.join(', ')} stopped answering` }
        : firing === undefined
          ? undefined
          : { name: firing.name, detail: firing.detail };
    return { now, stages, ...(stepDeployment === undefined ? {} : { stepDeployment }), ...(alarm === undefined ? {} : { alarm }) };
  }
}
