/**
 * A step's evidence read from the request log on a real Kafka broker gives the same report as
 * the same records read from the NDJSON log.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES_DIR, loadDomain, PACKAGE_ROOT } from '../../src/config/index.js';
import { applyFlags } from '../../src/migration/index.js';
import { gatherEvidence, RuleSetsByVersion } from '../../src/rollout/index.js';
import { createProgress, produceLog } from '../../src/shadow/index.js';
import { shippedPlan } from '../support/migration/fixtures.js';

const brokers = process.env.KAFKA_BROKERS ?? '';
const dir = mkdtempSync(join(tmpdir(), 'prio-evidence-kafka-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rollout evidence from Kafka', () => {
  it('replays the topic the stage logs to, with the same outcome as the file it was produced from', async () => {
    const file = join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson');
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
    const topic = `rollout-evidence-${randomUUID().slice(0, 8)}`;
    await produceLog({ brokers: brokers.split(','), file, topic, partitions: 2 });
    const plan = shippedPlan();
    const step = plan.steps[0]!;
    const domain = loadDomain();
    const common = {
      step,
      run: 1,
      before: plan.initialFlags,
      after: applyFlags(plan.initialFlags, [step.flags]),
      records: lines,
      alarms: {},
      domain,
      ruleSets: new RuleSetsByVersion([join(DEFAULT_RULES_DIR, 'legacy.json'), join(DEFAULT_RULES_DIR, 'service_tier.json')], domain),
      progress: createProgress({ stream: process.stderr, quiet: true, label: 'evidence' }),
    };
    const fromKafka = await gatherEvidence({ ...common, log: { kafka: { brokers, topic } }, outDir: join(dir, 'kafka') });
    const fromFile = await gatherEvidence({ ...common, log: { files: [file] }, outDir: join(dir, 'file') });
    expect(fromKafka.evidence.totals.read).toBe(lines);
    expect(fromKafka.evidence.totals).toEqual(fromFile.evidence.totals);
    expect(fromKafka.evidence.outcomes).toEqual(fromFile.evidence.outcomes);
    expect(fromKafka.evidence.verdict.passed).toBe(fromFile.evidence.verdict.passed);
  }, 120_000);
});
