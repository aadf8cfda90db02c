/**
 * Kafka security settings: where credentials may come from (environment or file, never an
 * option), the one-line errors for what cannot be used, and the SCRAM client against the
 * exchange RFC 7677 publishes (the real broker runs it in test/integration/shadow-kafka-tls.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaSecurityError, loadKafkaSecurity, saslAuthenticate, tlsOptions } from '../../src/shadow/sources/kafka-security.js';

const dir = mkdtempSync(join(tmpdir(), 'prio-kafka-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadKafkaSecurity', () => {
  it('is plaintext when nothing is named, TLS with hostname verification as soon as a CA is', () => {
    expect(loadKafkaSecurity({}, {})).toBeUndefined();
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'PEM');
    expect(loadKafkaSecurity({ caFile: ca }, {})).toEqual({ tls: { ca: 'PEM', verifyHostname: true } });
    expect(loadKafkaSecurity({ tls: true, verifyHostname: false }, {})).toEqual({ tls: { verifyHostname: false } });
  });

  it('takes credentials from the environment, or from a file (which wins)', () => {
    const env = { PRIO_KAFKA_USERNAME: 'env-user', PRIO_KAFKA_PASSWORD: 'env-pass' };
    expect(loadKafkaSecurity({ saslMechanism: 'SCRAM-SHA-512' }, env)).toEqual({ sasl: { mechanism: 'scram-sha-512', username: 'env-user', password: 'env-pass' } });
    const file = join(dir, 'creds');
    writeFileSync(file, '# replay user\nusername = file-user\npassword=p=a ss\n');
    expect(loadKafkaSecurity({ saslMechanism: 'plain', saslFile: file }, env)).toEqual({ sasl: { mechanism: 'plain', username: 'file-user', password: 'p=a ss' } });
  });

  it('says in one line what is missing or unreadable', () => {
    const error = (settings: Parameters<typeof loadKafkaSecurity>[0]) => {
      try {
        loadKafkaSecurity(settings, {});
      } catch (err) {
        expect(err).toBeInstanceOf(KafkaSecurityError);
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(error({ saslMechanism: 'scram-sha-256' })).toBe('SASL scram-sha-256 needs credentials: set PRIO_KAFKA_USERNAME and PRIO_KAFKA_PASSWORD, or name a credentials file');
    expect(error({ saslMechanism: 'gssapi' })).toBe('unknown SASL mechanism gssapi (expected one of plain, scram-sha-256, scram-sha-512)');
    expect(error({ caFile: join(dir, 'none.pem') })).toBe(`cannot read the Kafka CA file ${join(dir, 'none.pem')}: no such file`);
    expect(error({ certFile: 'c.pem' })).toBe('a Kafka client certificate needs both its certificate file and its key file');
    const half = join(dir, 'half');
    writeFileSync(half, 'username=u\n');
    expect(error({ saslMechanism: 'plain', saslFile: half })).toBe(`the Kafka SASL credentials file ${half} needs a username= and a password= line`);
    expect(error({ saslFile: half })).toBe('a SASL credentials file needs a SASL mechanism');
  });

  it('never turns off the chain check: only the host name check can be skipped', () => {
    const checked = tlsOptions({ verifyHostname: true }, 'kafka1');
    expect(checked).toMatchObject({ rejectUnauthorized: true, servername: 'kafka1' });
    expect(checked.checkServerIdentity).toBeUndefined();
    const unchecked = tlsOptions({ verifyHostname: false }, '127.0.0.1');
    expect(unchecked.rejectUnauthorized).toBe(true);
    expect(unchecked.servername).toBeUndefined();
    expect(unchecked.checkServerIdentity?.('kafka1', {} as never)).toBeUndefined();
  });
});

describe('SCRAM-SHA-256 client', () => {
  // RFC 7677, section 3: user "user", password "pencil".
  const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
  const clientFinal = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
  const serverFinal = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';
  const sasl = { mechanism: 'scram-sha-256', username: 'user', password: 'pencil' } as const;

  it('sends the RFC example exchange and accepts the server proof', async () => {
    const sent: string[] = [];
    await saslAuthenticate(
      sasl,
      async (bytes) => {
        sent.push(bytes.toString('utf8'));
        return Buffer.from(sent.length === 1 ? serverFirst : serverFinal);
      },
      'rOprNGfwEbeRWgbNEkqO',
    );
    expect(sent).toEqual(['n,,n=user,r=rOprNGfwEbeRWgbNEkqO', clientFinal]);
  });

  it('refuses a server that cannot prove it knows the password, and a nonce it did not extend', async () => {
    const answers = (final: string) => {
      let n = 0;
      return async () => Buffer.from(++n === 1 ? serverFirst : final);
    };
    await expect(saslAuthenticate(sasl, answers('v=AAAA'), 'rOprNGfwEbeRWgbNEkqO')).rejects.toThrow('the broker could not prove it knows the password');
    await expect(saslAuthenticate(sasl, answers(serverFinal), 'another-nonce')).rejects.toThrow("the broker's first message is malformed");
  });
});
