/**
 * A mixed fleet behind `prio load`'s round robin: one instance with the legacy flags (reading
 * dual), one with phase-1 flags, one with phase-2 flags. Sessions bounce between all three and
 * must keep one tier throughout; with a legacy-only reader in the fleet they do not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runLoad, type LoadOptions } from '../../src/load/index.js';
import type { Flags } from '../../src/migration/index.js';
import { startSimUpstream, type Service } from '../../src/service/index.js';
import { LEGACY_FLAGS, PHASE1_FLAGS, PHASE2_FLAGS, startTestService } from '../support/serve.js';
import { runCli } from '../support/cli.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function fleet(flags: readonly Flags[]): Promise<Service[]> {
  const upstream = await startSimUpstream({ meanMs: 2, distribution: 'exponential', seed: 3 });
  cleanup.push(() => upstream.close());
  const services: Service[] = [];
  for (const f of flags) {
    const { service } = await startTestService({ flags: f, upstream: upstream.url, capacity: { variants: {}, defaultVariant: { concurrency: 32, queueBound: 512 } } });
    cleanup.push(() => service.close(1000));
    services.push(service);
  }
  return services;
}

const mix: Omit<LoadOptions, 'targets' | 'mode'> = {
  rate: 150,
  requests: 450,
  sessions: 40,
  accounts: 10,
  classifications: ['ON_DEMAND', 'PTV1', 'PREMIUM_ON_DEMAND', 'FLEX', 'BATCH', 'CROSS_REGION'].map((value) => ({ value, weight: 1 })),
  serviceTiers: [
    { value: 'DEFAULT', weight: 2 },
    { value: 'RESERVED', weight: 1 },
    { value: 'FLEX', weight: 1 },
    { value: null, weight: 2 },
  ],
  requestTypes: [
    { value: null, weight: 2 },
    { value: 'ON_DEMAND', weight: 1 },
    { value: 'BATCH', weight: 1 },
  ],
  models: ['model-a'],
  seed: 11,
};

describe('mixed fleet under dual read', () => {
  it('ranks every session consistently across legacy, phase-1 and phase-2 instances (gateway)', async () => {
    const services = await fleet([{ ...LEGACY_FLAGS, tokenReadMode: 'dual' }, PHASE1_FLAGS, PHASE2_FLAGS]);
    const report = await runLoad({ ...mix, targets: services.map((s) => s.url), mode: 'gateway' });
    expect(report.unexpected).toBe(0);
    expect(report.statuses).toEqual({ '200': 450 });
    expect(report.sessions.compared).toBeGreaterThanOrEqual(30);
    expect(report.sessions.misRanked).toBe(0);
    expect(report.sessions.tierChanged).toBe(0);
    expect(report.ok).toBe(true);
    // The fleet really disagrees on fresh rankings: several tiers and three configurations were in play.
    expect(Object.keys(report.latencyMs.byTier).length).toBeGreaterThanOrEqual(4);
    expect(Object.keys(report.configVersions)).toHaveLength(3);
  });

  it('prio load --mode decide --json exits 0 on the same fleet, and 1 once a legacy-only reader joins a v2 writer', async () => {
    const good = await fleet([{ ...LEGACY_FLAGS, tokenReadMode: 'dual' }, PHASE1_FLAGS, PHASE2_FLAGS]);
    const args = ['load', '--mode', 'decide', '--rate', '300', '--requests', '300', '--sessions', '30', '--classifications', 'PTV1:1,FLEX:1,ON_DEMAND:1', '--service-tiers', 'DEFAULT:1,none:1', '--json'];
    const ok = await runCli(...args, ...good.flatMap((s) => ['--target', s.url]));
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ unexpected: 0, ok: true, sessions: { misRanked: 0 } });

    const bad = await fleet([LEGACY_FLAGS, PHASE2_FLAGS]);
    const broken = await runCli(...args, ...bad.flatMap((s) => ['--target', s.url]));
    expect(broken.code).toBe(1);
    const report = JSON.parse(broken.out);
    expect(report.unexpected).toBe(0);
    expect(report.sessions.misRanked).toBeGreaterThan(0);
    expect(report.sessions.examples[0].tiers.length).toBeGreaterThanOrEqual(2);
  });
});
