/**
 * The game day's fast subset inside `npm test`: every scenario marked `ci` runs through the same
 * runner as `npm run gameday`, against the services the test setup started, one test each; and
 * the subset must be at least eight scenarios covering every fault family.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarios, runScenario } from './runner.js';
import type { FaultFamily, GameDayServices } from './scenario.js';

const FAMILIES: readonly FaultFamily[] = ['network', 'process', 'clock', 'config', 'storage', 'traffic', 'rollout'];

const subset = (await loadScenarios()).filter((s) => s.ci);
const outDir = mkdtempSync(join(tmpdir(), 'prio-gameday-ci-'));
let failed = 0;
// Scenario directories are kept when one failed (the assertion message names the scenario).
afterAll(() => {
  if (failed === 0) rmSync(outDir, { recursive: true, force: true });
});

function services(): GameDayServices {
  const need = (name: string): string => {
    const value = process.env[name];
    if (value === undefined || value === '') throw new Error(`${name} is not set: the test setup starts the services (test/support/global-setup.ts)`);
    return value;
  };
  return {
    kafkaBrokers: need('KAFKA_BROKERS'),
    dynamodbEndpoint: need('DYNAMODB_ENDPOINT'),
    appConfigEndpoint: need('APPCONFIG_ENDPOINT'),
    toxiproxy: new Toxiproxy(need('TOXIPROXY_URL')),
  };
}

describe('game day, CI subset', () => {
  it('holds at least 8 scenarios covering every fault family', () => {
    const covered = new Set(subset.map((s) => s.family));
    const missing = FAMILIES.filter((f) => !covered.has(f));
    expect(missing, `families without a CI scenario: ${missing.join(', ')}`).toEqual([]);
    expect(subset.length, `CI subset: ${subset.map((s) => s.id).join(', ')}`).toBeGreaterThanOrEqual(8);
  });

  // A CI scenario must finish in 25 s on a loaded machine; the test allows its clean-up on top.
  for (const scenario of subset) {
    it(`${scenario.id} (${scenario.family})`, { timeout: scenario.timeoutMs + 30_000 }, async () => {
      const run = await runScenario(scenario, { services: services(), outDir });
      if (!run.passed) failed += 1;
      const observations = (run.outcome?.observations ?? []).map((o) => `  ${o.ok ? 'ok ' : 'NO '} ${o.phase} ${o.name} = ${String(o.value)}${o.unit === undefined ? '' : ` ${o.unit}`} (bound ${o.bound ?? '-'})`);
      const message = [`${scenario.id} failed: ${run.failure ?? ''} (its directory: ${run.dir})`, `fault: ${run.outcome?.faultEvidence ?? 'no outcome'}`, ...observations, 'log:', ...run.log.slice(-30).map((l) => `  ${l}`)].join('\n');
      expect(run.passed, message).toBe(true);
    });
  }
});
