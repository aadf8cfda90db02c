/**
 * The rollout runner meets a store that throttles (or cannot be reached) for a while: it must
 * wait with a growing delay and carry on from the stream, not crash, and the stream must end
 * with every event once. The real file store under a wrapper that refuses the first appends
 * with an error shaped as DynamoDB's throttling error; the stages and alarms are in-memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileEventStore, isTransientError, type AppendOptions, type EventStore, type NewEvent } from '../../src/eventstore/index.js';
import { loadMigration, type Flags } from '../../src/migration/index.js';
import { TRANSIENT_RETRY, parseRolloutSettings, runRollout, type RunnerEvent, type StagePort } from '../../src/rollout/index.js';
import { evidenceFor, fastPlan } from '../support/migration/fixtures.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** What the AWS SDK throws for a throttled DynamoDB call (name, `$retryable`, HTTP 400). */
function throttled(): Error {
  const err = new Error('The level of configured provisioned throughput for the table was exceeded');
  err.name = 'ProvisionedThroughputExceededException';
  Object.assign(err, { $retryable: {}, $metadata: { httpStatusCode: 400 } });
  return err;
}

describe('transient failures', () => {
  it('are recognised by name, socket code, SDK retryability, 5xx status or cause; a refusal is not one', () => {
    expect(isTransientError(throttled())).toBe(true);
    expect(isTransientError(Object.assign(new Error('x'), { name: 'ThrottlingException' }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isTransientError(new Error('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }))).toBe(true);
    expect(isTransientError(Object.assign(new Error('bad'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }))).toBe(false);
    expect(isTransientError('ECONNREFUSED')).toBe(false);
  });
});

describe('the rollout runner under a throttling store', () => {
  it('reports a store it never reached at once instead of waiting on it (a wrong endpoint, most likely)', async () => {
    const plan = fastPlan('unreached', 0);
    const settings = parseRolloutSettings({ application: 'app', pollSeconds: 0.01, stages: Object.fromEntries(plan.stages.map((s) => [s.name, { environment: s.name, strategy: 'all-at-once', fleet: ['http://127.0.0.1:1'], requestLog: { files: ['x.ndjson'] } }])) }, 'settings.json', plan);
    const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
    const store: EventStore = { kind: 'dynamodb', read: refused, forEach: refused, version: refused, append: refused, listStreams: refused, close: () => Promise.resolve() };
    const lines: RunnerEvent[] = [];
    const run = runRollout(
      { migrationId: plan.id, plan, owner: 'runner', settings, leaseTtlMs: 1_000 },
      {
        store,
        stages: { observe: refused, publish: refused, findDeployment: refused, start: refused, state: refused, stop: refused },
        alarms: { resetWindow: () => Promise.resolve(), read: () => Promise.resolve({ readings: [], unreachable: [] }) },
        evidence: refused,
        wall: Date.now,
        sleep: () => Promise.resolve(),
        newId: () => 'id',
        log: (e) => lines.push(e),
      },
    );
    await expect(run).rejects.toThrow('ECONNREFUSED');
    expect(lines.filter((l) => l.kind === 'retry')).toEqual([]);
  });

  it('waits with a growing delay, carries on from the stream and completes with every event once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prio-runner-'));
    dirs.push(dir);
    const inner = new FileEventStore({ dir: join(dir, 'store') });
    let refusals = 4;
    const store: EventStore = {
      kind: inner.kind,
      read: (s) => inner.read(s),
      forEach: (s, v) => inner.forEach(s, v),
      version: (s) => inner.version(s),
      listStreams: (p) => inner.listStreams(p),
      close: () => inner.close(),
      append(stream: string, expected: number, events: readonly NewEvent[], options?: AppendOptions) {
        // Every other append refused until the budget is spent, so the refusals land mid-run.
        if (refusals > 0 && expected % 2 === 1) {
          refusals -= 1;
          return Promise.reject(throttled());
        }
        return inner.append(stream, expected, events, options);
      },
    };
    const plan = { ...fastPlan('throttled', 0), stages: [{ name: 'beta' }], steps: fastPlan('throttled', 0).steps.filter((s) => s.stage === 'beta' && s.phase === 1), phases: fastPlan('throttled', 0).phases.slice(0, 1) };
    const step = plan.steps[0];
    if (step === undefined) throw new Error('no step');
    const settings = parseRolloutSettings(
      { application: 'app', pollSeconds: 0.01, stages: { beta: { environment: 'beta', strategy: 'all-at-once', fleet: ['http://127.0.0.1:1'], requestLog: { files: ['x.ndjson'] } } } },
      'settings.json',
      plan,
    );
    // The stage runs the plan's initial flags already, as a rehearsal's environments do.
    const deployments: { number: number; version: string; description: string; flags: Flags }[] = [{ number: 1, version: '0', description: 'initial flags', flags: plan.initialFlags }];
    const published = new Map<string, Flags>();
    const stages: StagePort = {
      observe: () => Promise.resolve({ deployedFlags: deployments.at(-1)?.flags, running: undefined }),
      // As AppConfig's publish does: identical content is the version that already holds it.
      publish: (flags) => {
        const same = [...published].find(([, f]) => JSON.stringify(f) === JSON.stringify(flags));
        const version = same?.[0] ?? String(published.size + 1);
        published.set(version, flags);
        return Promise.resolve(version);
      },
      findDeployment: (_stage, version, marker) => Promise.resolve(deployments.find((d) => d.version === version && d.description.startsWith(marker))?.number),
      start: (_stage, version, _strategy, description) => {
        deployments.push({ number: deployments.length + 1, version, description, flags: published.get(version) as Flags });
        return Promise.resolve(deployments.length);
      },
      state: () => Promise.resolve('COMPLETE'),
      stop: () => Promise.resolve(),
    };
    const lines: RunnerEvent[] = [];
    const waits: number[] = [];
    let ids = 0;
    const outcome = await runRollout(
      { migrationId: plan.id, plan, owner: 'runner', settings, leaseTtlMs: 1_000 },
      {
        store,
        stages,
        alarms: { resetWindow: () => Promise.resolve(), read: (_stage, alarms) => Promise.resolve({ readings: alarms.map((name) => ({ name, state: 'OK' as const, detail: 'quiet', measured: 0 })), unreachable: [] }) },
        evidence: () => Promise.resolve({ evidence: evidenceFor(step), reportDir: dir }),
        wall: Date.now,
        sleep: (ms) => {
          waits.push(ms);
          return Promise.resolve();
        },
        newId: () => `id-${++ids}`,
        log: (e) => lines.push(e),
      },
    );
    expect(outcome).toEqual({ kind: 'completed' });
    const retries = lines.filter((l) => l.kind === 'retry');
    expect(retries).toHaveLength(4);
    expect(retries[0]?.message).toMatch(/^ProvisionedThroughputExceededException: .* \(1 in a row\); retrying in 250 ms$/);
    // The four refusals fell on the same append in a row: the wait doubled each time.
    expect(retries.map((l) => /retrying in (\d+) ms/.exec(l.message)?.[1])).toEqual(['250', '500', '1000', '2000']);
    expect(waits).toEqual(expect.arrayContaining([TRANSIENT_RETRY.firstMs, 2 * TRANSIENT_RETRY.firstMs, 4 * TRANSIENT_RETRY.firstMs, 8 * TRANSIENT_RETRY.firstMs]));
    expect(deployments.filter((d) => d.description.includes(`step ${step.id} run 1`)), JSON.stringify(lines.map((l) => `${l.kind}: ${l.message}`))).toHaveLength(1);
    expect(deployments).toHaveLength(2);
    const { events, state } = await loadMigration(inner, plan.id);
    expect(state.status).toBe('completed');
    const types = events.map((e) => e.type);
    expect(types).toEqual(['MigrationPlanned', 'StepStarted', 'EvidenceAttached', 'DeploymentStarted', 'DeploymentCompleted', 'StepCompleted', 'MigrationCompleted']);
  });
});
