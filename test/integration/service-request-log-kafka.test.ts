/**
 * The request log on the real Kafka broker: a gateway under load writes every finished request
 * as a request record, and `prio shadow replay` reads the topic back with the baseline
 * reproducing every observed outcome (fidelity 100%).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { developmentTokenKeyring } from '../../src/config/index.js';
import { runLoad } from '../../src/load/index.js';
import { kafkaRequestLog, startService, startSimUpstream } from '../../src/service/index.js';
import { runCli } from '../support/cli.js';
import { LEGACY_FLAGS, TestProvider, domain, silent, snapshot } from '../support/serve.js';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const out = mkdtempSync(join(tmpdir(), 'prio-serve-kafka-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('request log on Kafka', () => {
  it('replays through prio shadow replay with baseline fidelity 100%', async () => {
    const topic = `prio-serve-log-${Date.now()}`;
    const counts = { written: 0, dropped: 0 };
    const requestLog = kafkaRequestLog({ brokers, topic, batchSize: 100, lingerMs: 20, onCount: (e, n) => (counts[e] += n) });
    const upstream = await startSimUpstream({ meanMs: 2, distribution: 'exponential' });
    const service = await startService({
      provider: new TestProvider(snapshot(LEGACY_FLAGS)),
      domain,
      capacity: { variants: {}, defaultVariant: { concurrency: 16, queueBound: 1000 } },
      // The replay checks tokens with the public development key unless told otherwise.
      keyring: developmentTokenKeyring(),
      upstream: upstream.url,
      requestLog,
      logger: silent,
      processMetrics: false,
    });
    try {
      const report = await runLoad({
        targets: [service.url],
        mode: 'gateway',
        rate: 200,
        requests: 300,
        sessions: 25,
        accounts: 6,
        classifications: ['ON_DEMAND', 'PTV1', 'PTV2', 'FLEX', 'BATCH', 'PREMIUM_ON_DEMAND'].map((value) => ({ value, weight: 1 })),
        serviceTiers: [{ value: 'DEFAULT', weight: 1 }, { value: null, weight: 1 }],
        requestTypes: [{ value: null, weight: 2 }, { value: 'ON_DEMAND', weight: 1 }, { value: 'BATCH', weight: 1 }],
        models: ['model-a', 'model-b'],
        seed: 4,
      });
      expect(report.statuses).toEqual({ '200': 300 });
    } finally {
      await service.close(5000);
      await upstream.close();
    }
    expect(counts).toEqual({ written: 300, dropped: 0 });

    const replay = await runCli('shadow', 'replay', '--kafka-brokers', brokers.join(','), '--topic', topic, '--from-beginning', '--out', join(out, 'report'), '--quiet', '--json');
    expect(replay.code).toBe(0);
    const result = JSON.parse(replay.out);
    expect(result.totals).toMatchObject({ read: 300, quarantined: 0, compared: 300 });
    expect(result.fidelity).toMatchObject({ status: 'reproduced', rate: 1, checked: 300, matched: 300 });
  });
});
