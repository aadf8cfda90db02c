/**
 * Hot swap under continuous load: the flags walk legacy → phase 1 → phase 2 and the tier rule
 * set is replaced, through the real file-watching provider, while `prio load` keeps sending.
 * Nothing fails and no session changes tier; fresh sessions see the new rules.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createConfigProvider, type ConfigSnapshot } from '../../src/appconfig/index.js';
import { DEFAULT_RULES_DIR } from '../../src/config/index.js';
import { runLoad } from '../../src/load/index.js';
import type { Flags } from '../../src/migration/index.js';
import { startService, startSimUpstream } from '../../src/service/index.js';
import { LEGACY_FLAGS, PHASE1_FLAGS, PHASE2_FLAGS, domain, keyring, post, silent } from '../support/serve.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

const flagsDoc = (flags: Flags) => JSON.stringify({ schemaVersion: 1, ...flags });

describe('hot swap of rules and flags under load', () => {
  it('swaps three times without a failed or re-ranked request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prio-serve-swap-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const tieredText = readFileSync(join(DEFAULT_RULES_DIR, 'service_tier.json'), 'utf8');
    writeFileSync(join(dir, 'rules.json'), tieredText);
    writeFileSync(join(dir, 'flags.json'), flagsDoc(LEGACY_FLAGS));
    const provider = createConfigProvider({ file: { path: dir, pollIntervalMs: 50, debounceMs: 20 }, logger: silent });
    await provider.start();
    cleanup.push(() => provider.close());
    expect(provider.current()?.source).toBe('file');
    const swaps: ConfigSnapshot[] = [];
    provider.subscribe((s) => swaps.push(s));
    const swapped = async (count: number) => {
      for (let i = 0; i < 400 && swaps.length < count; i++) await new Promise((r) => setTimeout(r, 10));
      expect(swaps.length).toBe(count);
    };

    const upstream = await startSimUpstream({ meanMs: 3, distribution: 'exponential', seed: 5 });
    cleanup.push(() => upstream.close());
    const service = await startService({ provider, domain, capacity: { variants: {}, defaultVariant: { concurrency: 32, queueBound: 512 } }, keyring, upstream: upstream.url, logger: silent, processMetrics: false });
    cleanup.push(() => service.close(1000).then(() => undefined));

    const load = runLoad({
      targets: [service.url],
      mode: 'gateway',
      rate: 150,
      durationMs: 3000,
      sessions: 30,
      accounts: 8,
      classifications: ['ON_DEMAND', 'PTV1', 'FLEX', 'BATCH'].map((value) => ({ value, weight: 1 })),
      serviceTiers: [
        { value: 'DEFAULT', weight: 1 },
        { value: 'FLEX', weight: 1 },
        { value: null, weight: 1 },
      ],
      requestTypes: [{ value: null, weight: 1 }],
      models: ['model-a'],
      seed: 21,
    });

    await new Promise((r) => setTimeout(r, 600));
    writeFileSync(join(dir, 'flags.json'), flagsDoc(PHASE1_FLAGS));
    await swapped(1);
    await new Promise((r) => setTimeout(r, 600));
    writeFileSync(join(dir, 'flags.json'), flagsDoc(PHASE2_FLAGS));
    await swapped(2);
    await new Promise((r) => setTimeout(r, 600));
    // A new tier rule set: the FLEX service tier moves from P10 to P25, under a new version label.
    const next = JSON.parse(tieredText) as { version: string; rules: { id: string; then: { tier: string } }[] };
    next.version = 'tiered-7.2';
    const flex = next.rules.find((r) => r.id === 'flex');
    if (flex === undefined) throw new Error('rules/service_tier.json has no rule "flex"');
    flex.then.tier = 'P25';
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(next));
    writeFileSync(join(dir, 'flags.json'), flagsDoc({ ...PHASE2_FLAGS, rulesVersion: 'tiered-7.2' }));
    await swapped(3);

    const report = await load;
    expect(report.unexpected).toBe(0);
    expect(Object.keys(report.statuses)).toEqual(['200']);
    expect(report.sessions.compared).toBeGreaterThanOrEqual(20);
    expect(report.sessions.misRanked).toBe(0);
    expect(report.sessions.tierChanged).toBe(0);
    expect(report.configVersionsSeen.length).toBeGreaterThanOrEqual(3);
    expect(swaps.map((s) => s.flags.serviceTierMode)).toEqual(['observed', 'enforced', 'enforced']);

    // A fresh FLEX session is ranked by the new rules; an old one keeps its tier through its token.
    const fresh = await post(`${service.url}/v1/decide`, { accountId: 'acct-new', classification: 'ON_DEMAND', serviceTier: 'FLEX', modelId: 'model-a' });
    expect(fresh.body).toMatchObject({ tier: 'P25', configVersion: swaps[2]?.version });
  });
});
