import { describe, expect, it } from 'vitest';
import type { MigrationEvent } from '../../src/migration/index.js';
import { PAUSE_BEFORE_APPEND_ENV, RolloutError, pauseBeforeAppend, type RunnerEvent } from '../../src/rollout/index.js';

const started = { type: 'DeploymentStarted', stepId: 'beta-dual-read', stage: 'beta', deployment: { environment: 'beta', number: 3, configVersion: '2' }, actor: 'ci', at: '2026-01-05T09:00:00.000Z' } as MigrationEvent;
const completed = { type: 'StepCompleted', stepId: 'beta-dual-read', actor: 'ci', at: '2026-01-05T09:00:00.000Z' } as MigrationEvent;

describe(`the runner's fault-injection point (${PAUSE_BEFORE_APPEND_ENV})`, () => {
  it('is absent unless set', () => {
    expect(pauseBeforeAppend(undefined, () => undefined, () => Promise.resolve())).toBeUndefined();
    expect(pauseBeforeAppend('', () => undefined, () => Promise.resolve())).toBeUndefined();
  });

  it('waits the given time and logs a fault-point line only for the named event type', async () => {
    const lines: RunnerEvent[] = [];
    const waits: number[] = [];
    const hook = pauseBeforeAppend('DeploymentStarted:5000', (e) => lines.push(e), (ms) => (waits.push(ms), Promise.resolve()), () => 0);
    await hook?.([completed]);
    expect(waits).toEqual([]);
    await hook?.([started]);
    expect(waits).toEqual([5000]);
    expect(lines).toEqual([{ at: '1970-01-01T00:00:00.000Z', kind: 'fault-point', step: 'beta-dual-read', message: `decided DeploymentStarted; waiting 5000 ms before appending (${PAUSE_BEFORE_APPEND_ENV})` }]);
  });

  it('refuses a spec that does not parse, in one line naming the variable', () => {
    expect(() => pauseBeforeAppend('DeploymentStarted', () => undefined, () => Promise.resolve())).toThrow(RolloutError);
    expect(() => pauseBeforeAppend('DeploymentStarted:soon', () => undefined, () => Promise.resolve())).toThrow(/PRIO_TEST_PAUSE_BEFORE_APPEND must be <EventType>:<ms>/);
  });
});
