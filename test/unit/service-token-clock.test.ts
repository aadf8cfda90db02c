/**
 * `tokenClockOffsetMs` / `prio serve --token-clock-offset-ms`: the clock session tokens are
 * issued and judged by, shifted as a skewed machine's would be. Tokens from an instance ahead
 * carry later times; an instance behind still accepts them until their (later) expiry; an
 * instance ahead finds the tokens of one behind expired once the skew exceeds their lifetime.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startService, type Service } from '../../src/service/index.js';
import { createTokenReader } from '../../src/tokens/index.js';
import { runCli } from '../support/cli.js';
import { domain, keyring, LEGACY_FLAGS, post, silent, snapshot, TestProvider } from '../support/serve.js';

const services: Service[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close(100);
});

const TTL = 60_000;

async function instance(tokenClockOffsetMs: number | undefined): Promise<Service> {
  const service = await startService({
    provider: new TestProvider(snapshot(LEGACY_FLAGS)),
    domain,
    capacity: { variants: {}, defaultVariant: { concurrency: 4, queueBound: 16 } },
    keyring,
    logger: silent,
    processMetrics: false,
    sessionTtlMs: TTL,
    ...(tokenClockOffsetMs === undefined ? {} : { tokenClockOffsetMs }),
  });
  services.push(service);
  return service;
}

const request = { accountId: 'acct-1', classification: 'BATCH', modelId: 'm' };

describe('token clock offset', () => {
  it('issues tokens on the shifted clock and judges expiry on it', async () => {
    const ahead = await instance(5 * TTL);
    const behind = await instance(-5 * TTL);
    const plain = await instance(undefined);

    const before = Date.now();
    const fromAhead = (await post(`${ahead.url}/v1/decide`, request)).body.sessionToken as string;
    const fromBehind = (await post(`${behind.url}/v1/decide`, request)).body.sessionToken as string;
    const fromPlain = (await post(`${plain.url}/v1/decide`, request)).body.sessionToken as string;
    const after = Date.now();
    // Read at time 0, before any expiry, for the claims alone.
    const reader = createTokenReader({ domain, keyring, mode: 'dual' });
    const issued = (token: string) => {
      const read = reader.read(token, 0);
      if (!read.ok) throw new Error(read.message);
      return read.claims.issuedAt;
    };
    expect(issued(fromAhead)).toBeGreaterThanOrEqual(before + 5 * TTL);
    expect(issued(fromAhead)).toBeLessThanOrEqual(after + 5 * TTL);
    expect(issued(fromBehind)).toBeGreaterThanOrEqual(before - 5 * TTL);
    expect(issued(fromBehind)).toBeLessThanOrEqual(after - 5 * TTL);
    expect(issued(fromPlain)).toBeGreaterThanOrEqual(before);

    // Behind judges the token from ahead by its own (earlier) clock: not expired, the tier kept.
    const atBehind = await post(`${behind.url}/v1/decide`, { ...request, sessionToken: fromAhead });
    expect(atBehind.body).toMatchObject({ rankedBy: 'token', tokenRejected: null, tier: 'P50' });
    // Ahead sees the token from behind expired 4 TTLs ago: counted, ranked fresh to the same tier.
    const atAhead = await post(`${ahead.url}/v1/decide`, { ...request, sessionToken: fromBehind });
    expect(atAhead.body).toMatchObject({ rankedBy: 'rules', tokenRejected: 'EXPIRED', tier: 'P50' });
    // Without an offset the real clock rules: the token from behind expired, the one from ahead did not.
    expect((await post(`${plain.url}/v1/decide`, { ...request, sessionToken: fromBehind })).body).toMatchObject({ tokenRejected: 'EXPIRED' });
    expect((await post(`${plain.url}/v1/decide`, { ...request, sessionToken: fromAhead })).body).toMatchObject({ rankedBy: 'token' });
    const metrics = await (await fetch(`${ahead.url}/metrics`)).text();
    expect(metrics).toMatch(/prio_session_token_rejections_total\{reason="EXPIRED"\} 1/);
  });

  it('prio serve documents --token-clock-offset-ms and refuses a value that is not an integer in one line', async () => {
    const help = await runCli('serve', '--help');
    expect(help.out).toContain('--token-clock-offset-ms <ms>');
    const bad = await runCli('serve', '--dev-keys', '--token-clock-offset-ms', '5m');
    expect(bad.code).toBe(2);
    expect(bad.err.split('\n')[0]).toMatch(/^error: .*--token-clock-offset-ms.*must be an integer/);
    expect(bad.err).toContain('--token-clock-offset-ms');
  });
});
