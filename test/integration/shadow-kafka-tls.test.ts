/**
 * Kafka as production runs it: a broker of this file's own (test/support/kafka/broker.ts,
 * startSecureBroker) with SASL_SSL listeners, its certificates made by openssl in its data
 * directory, the SASL_SSL listener requiring a client certificate. `shadow produce` writes
 * over SASL_SSL; the replay reads over SASL_SSL on the direct path (prio's own connection:
 * TLS, SCRAM and PLAIN spoken by kafka-fetch.ts) and on the group path, and gives the report
 * the plaintext listener gives. A wrong password, a CA that did not sign the broker's
 * certificate, and a certificate for another host name each stop it with one line, exit 2.
 * The shared plaintext broker is not touched; this broker starts only for this file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaRequestLog } from '../../src/service/index.js';
import { kafkaSource } from '../../src/shadow/sources/kafka.js';
import { fetchKafkaJars, removeBrokerData, startSecureBroker, stopBroker, type SecureBroker } from '../support/kafka/broker.js';
import { runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'prio-kafka-tls-'));
let broker: SecureBroker;
let topic: string;
let credentials: string;
let wrongCredentials: string;
const RECORDS = 400;

beforeAll(async () => {
  await fetchKafkaJars();
  broker = await startSecureBroker();
  credentials = join(dir, 'credentials.properties');
  writeFileSync(credentials, `# the replay's Kafka user\nusername=${broker.user.username}\npassword=${broker.user.password}\n`);
  wrongCredentials = join(dir, 'wrong.properties');
  writeFileSync(wrongCredentials, `username=${broker.user.username}\npassword=not-the-password\n`);
}, 180_000);

afterAll(async () => {
  if (broker !== undefined) {
    await stopBroker(broker);
    removeBrokerData(broker);
  }
  rmSync(dir, { recursive: true, force: true });
});

const out = (what: string) => join(dir, `out-${what}`);
const tls = () => ['--kafka-tls-ca', broker.tls.ca, '--kafka-tls-cert', broker.tls.clientCert, '--kafka-tls-key', broker.tls.clientKey];

function reportWithoutRun(outDir: string): Record<string, unknown> {
  const report = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as Record<string, unknown>;
  delete report.run;
  return report;
}

/** The error output as lines: the contract is exactly one. */
const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

describe('Kafka over SASL_SSL', () => {
  it('shadow produce writes the topic over SASL_SSL with SCRAM-SHA-512', async () => {
    const file = join(dir, 'log.ndjson');
    expect((await runCli('shadow', 'generate', '--count', String(RECORDS), '--seed', '5', '--out', file)).code).toBe(0);
    topic = `tls-${randomUUID().slice(0, 8)}`;
    const produced = await runCli('shadow', 'produce', '--file', file, '--topic', topic, '--kafka-brokers', broker.saslSsl, ...tls(), '--kafka-sasl-mechanism', 'scram-sha-512', '--kafka-sasl-file', credentials, '--partitions', '3', '--quiet');
    expect(produced.err).toBe('');
    expect(produced.code).toBe(0);
    expect(produced.out).toContain(`${RECORDS} messages`);
  });

  it('replays over SASL_SSL (SCRAM-SHA-512, direct path) the report the plaintext listener gives', async () => {
    const plain = await runCli('shadow', 'replay', '--kafka-brokers', broker.brokers, '--topic', topic, '--from-beginning', '--no-token-check', '--out', out('plain'), '--quiet');
    expect(plain.code).toBe(0);
    const secure = await runCli('shadow', 'replay', '--kafka-brokers', broker.saslSsl, ...tls(), '--kafka-sasl-mechanism', 'scram-sha-512', '--kafka-sasl-file', credentials, '--topic', topic, '--from-beginning', '--no-token-check', '--out', out('scram512'), '--quiet');
    expect(secure.err).toBe('');
    expect(secure.code).toBe(0);
    const report = reportWithoutRun(out('scram512'));
    expect(report).toEqual(reportWithoutRun(out('plain')));
    expect(report.totals).toMatchObject({ read: RECORDS });
  });

  it('replays over SASL_SSL in a consumer group (SCRAM-SHA-512, credentials from the environment)', async () => {
    process.env.PRIO_KAFKA_USERNAME = broker.user.username;
    process.env.PRIO_KAFKA_PASSWORD = broker.user.password;
    try {
      const grouped = await runCli('shadow', 'replay', '--kafka-brokers', broker.saslSsl, ...tls(), '--kafka-sasl-mechanism', 'scram-sha-512', '--topic', topic, '--from-beginning', '--no-token-check', '--group', `g-${randomUUID()}`, '--out', out('group'), '--quiet');
      expect(grouped.err).toBe('');
      expect(grouped.code).toBe(0);
    } finally {
      delete process.env.PRIO_KAFKA_USERNAME;
      delete process.env.PRIO_KAFKA_PASSWORD;
    }
    expect(reportWithoutRun(out('group'))).toEqual(reportWithoutRun(out('plain')));
  });

  it('reads every record with PLAIN and with SCRAM-SHA-256 too (the source as a library)', async () => {
    const ca = readFileSync(broker.tls.ca, 'utf8');
    const cert = readFileSync(broker.tls.clientCert, 'utf8');
    const key = readFileSync(broker.tls.clientKey, 'utf8');
    for (const mechanism of ['plain', 'scram-sha-256'] as const) {
      let count = 0;
      const source = kafkaSource({
        brokers: [broker.saslSsl],
        topic,
        window: { from: 'beginning' },
        security: { tls: { ca, cert, key }, sasl: { mechanism, ...broker.user } },
      });
      for await (const batch of source.batches()) count += batch.length;
      expect([mechanism, count]).toEqual([mechanism, RECORDS]);
    }
  });

  it("prio serve's request log writes over SASL_SSL (SCRAM-SHA-256)", async () => {
    const logTopic = `tls-log-${randomUUID().slice(0, 8)}`;
    const counts = { written: 0, dropped: 0 };
    const errors: string[] = [];
    const log = kafkaRequestLog({
      brokers: [broker.saslSsl],
      topic: logTopic,
      security: { tls: { ca: readFileSync(broker.tls.ca, 'utf8'), cert: readFileSync(broker.tls.clientCert, 'utf8'), key: readFileSync(broker.tls.clientKey, 'utf8') }, sasl: { mechanism: 'scram-sha-256', ...broker.user } },
      lingerMs: 10,
      onCount: (event, n) => (counts[event] += n),
      onError: (message) => errors.push(message),
    });
    for (let i = 0; i < 50; i++) {
      log.write({ requestId: `r-${i}`, timestamp: '2026-03-01T00:00:00.000Z', accountId: `a-${i % 3}`, modelId: 'm', region: 'local', classification: 'ON_DEMAND' });
    }
    await log.close();
    expect(errors).toEqual([]);
    expect(counts).toEqual({ written: 50, dropped: 0 });
    let read = 0;
    for await (const batch of kafkaSource({ brokers: [broker.brokers], topic: logTopic, window: { from: 'beginning' } }).batches()) read += batch.length;
    expect(read).toBe(50);
  });

  it('a wrong password: one line naming the failure, exit 2', async () => {
    const replay = await runCli('shadow', 'replay', '--kafka-brokers', broker.saslSsl, ...tls(), '--kafka-sasl-mechanism', 'scram-sha-512', '--kafka-sasl-file', wrongCredentials, '--topic', topic, '--from-beginning', '--no-token-check', '--out', out('wrong'), '--quiet');
    expect(replay.code).toBe(2);
    expect(lines(replay.err)).toHaveLength(1);
    expect(replay.err).toMatch(/^error: .*authenticat/i);
    const produce = await runCli('shadow', 'produce', '--file', join(dir, 'log.ndjson'), '--topic', topic, '--kafka-brokers', broker.saslSsl, ...tls(), '--kafka-sasl-mechanism', 'plain', '--kafka-sasl-file', wrongCredentials, '--quiet');
    expect(produce.code).toBe(2);
    expect(lines(produce.err)).toHaveLength(1);
    expect(produce.err).toMatch(/authenticat/i);
  });

  it('a CA that did not sign the broker certificate: one line, exit 2', async () => {
    const replay = await runCli('shadow', 'replay', '--kafka-brokers', broker.saslSsl, '--kafka-tls-ca', broker.tls.otherCa, '--kafka-tls-cert', broker.tls.clientCert, '--kafka-tls-key', broker.tls.clientKey, '--kafka-sasl-mechanism', 'scram-sha-512', '--kafka-sasl-file', credentials, '--topic', topic, '--from-beginning', '--no-token-check', '--out', out('untrusted'), '--quiet');
    expect(replay.code).toBe(2);
    expect(lines(replay.err)).toHaveLength(1);
    expect(replay.err).toMatch(/^error: .*certificate/i);
  });

  it('checks the host name by default: a certificate for another host fails unless --kafka-tls-no-verify-hostname', async () => {
    const args = ['shadow', 'replay', '--kafka-brokers', broker.misnamed, '--kafka-tls-ca', broker.tls.ca, '--kafka-sasl-mechanism', 'scram-sha-512', '--kafka-sasl-file', credentials, '--topic', topic, '--from-beginning', '--no-token-check', '--quiet'];
    const checked = await runCli(...args, '--out', out('misnamed'));
    expect(checked.code).toBe(2);
    expect(lines(checked.err)).toHaveLength(1);
    expect(checked.err).toMatch(/^error: .*(altnames|host)/i);
    const unchecked = await runCli(...args, '--kafka-tls-no-verify-hostname', '--out', out('misnamed-unchecked'));
    expect(unchecked.err).toBe('');
    expect(unchecked.code).toBe(0);
    expect(reportWithoutRun(out('misnamed-unchecked'))).toEqual(reportWithoutRun(out('plain')));
  });

  it('never takes a password on the command line; a missing credentials file is one line, exit 2', async () => {
    const help = await runCli('shadow', 'replay', '--help');
    expect(help.out).toContain('--kafka-sasl-mechanism');
    expect(help.out).toContain('PRIO_KAFKA_PASSWORD');
    expect(help.out).not.toMatch(/--kafka-sasl-password|--kafka-password/);
    const missing = await runCli('shadow', 'replay', '--kafka-brokers', broker.saslSsl, '--kafka-tls-ca', broker.tls.ca, '--kafka-sasl-mechanism', 'plain', '--kafka-sasl-file', join(dir, 'absent.properties'), '--topic', topic, '--from-beginning', '--no-token-check', '--out', out('absent'));
    expect(missing.code).toBe(2);
    expect(lines(missing.err)).toEqual([`error: cannot read the Kafka SASL credentials file ${join(dir, 'absent.properties')}: no such file`]);
  });
});
