/**
 * What a person reads when a token or a key is refused: every rejection and writer error names
 * what was wrong, with the offending value. `prio token verify` and the service's logs print
 * these messages as they are, so they are behaviour, not decoration.
 */
import { describe, expect, it } from 'vitest';
import { createTokenReader, createTokenWriter, encodeClaims, Keyring, MAX_TIME_MS, normalizeRaw, parseKeySpec, TOKEN_REJECT_REASONS, type SessionClaims, type TokenReadResult } from '../../src/tokens/index.js';
import { configIssues } from '../support/config-issues.js';
import { domain, forge, HOUR, key, KEY_A, keyring, payloadBytes, scale, T0, tierNamed, validPayload } from './tokens-support.js';

const dual = createTokenReader({ domain, keyring, mode: 'dual' });
const v2Writer = createTokenWriter({ domain, keyring, mode: 'v2' });
const session = { sessionId: 'sess-42', accountId: '123456789012', classification: 'ON_DEMAND', tier: tierNamed('P75'), issuedAt: T0, ttlMs: HOUR };
const token = v2Writer.issue(session);
const [, kid, payload, signature] = token.split('.') as [string, string, string, string];

function refusal(result: TokenReadResult): string {
  if (result.ok) throw new Error(`expected a refusal, got ${result.tier.name}`);
  return `${result.reason}: ${result.message}`;
}
const read = (text: string, now = T0) => refusal(dual.read(text, now));
const NOT_A_TOKEN = 'MALFORMED: not a token: expected v<version>.<kid>.<payload>.<signature> in base64url';

describe('reader messages', () => {
  it('names the type of a non-string and the length of an oversized token', () => {
    expect(refusal(dual.read(42 as unknown as string, T0))).toBe('MALFORMED: token must be a string, got number');
    expect(read('A'.repeat(2049))).toBe('OVERSIZED: token is 2049 characters; the limit is 2048');
  });

  it('spells out the grammar for text that is not a token', () => {
    for (const text of ['v2.k.p', `v.${kid}.${payload}.${signature}`, `x2.${kid}.${payload}.${signature}`, `v02.${kid}.${payload}.${signature}`, `v2a.${kid}.${payload}.${signature}`, `v2..${payload}.${signature}`]) {
      expect(read(text), text).toBe(NOT_A_TOKEN);
    }
  });

  it('names the version it does not read, and why', () => {
    expect(read(`v10.${kid}.${payload}.${signature}`)).toBe('UNSUPPORTED_VERSION: token version 10 is not supported');
    expect(read(`v0.${kid}.${payload}.${signature}`)).toBe('UNSUPPORTED_VERSION: token version 0 is not supported');
    expect(refusal(createTokenReader({ domain, keyring, mode: 'legacy' }).read(token, T0))).toBe('UNSUPPORTED_VERSION: token version 2 is not accepted by a legacy-mode reader');
    const v1 = createTokenWriter({ domain, keyring, mode: 'legacy' }).issue(session);
    expect(refusal(createTokenReader({ domain, keyring, mode: 'v2' }).read(v1, T0))).toBe('UNSUPPORTED_VERSION: token version 1 is no longer accepted by a v2-mode reader');
  });

  it('quotes an unknown kid, cut to 32 characters', () => {
    expect(read(`v2.nope.${payload}.${signature}`)).toBe('UNKNOWN_KID: no key with kid "nope" in the keyring');
    const k32 = 'k'.repeat(32);
    expect(read(`v2.${k32}.${payload}.${signature}`)).toBe(`UNKNOWN_KID: no key with kid "${k32}" in the keyring`);
    expect(read(`v2.${k32}x.${payload}.${signature}`)).toBe(`UNKNOWN_KID: no key with kid "${k32}"… in the keyring`);
  });

  it('tells a malformed signature from a wrong one', () => {
    expect(read(`v2.${kid}.${payload}.${signature.slice(0, -1)}`)).toBe('BAD_SIGNATURE: signature is not a canonical base64url HMAC-SHA256');
    expect(read(`v2.${kid}.${payload}.${signature}A`)).toBe('BAD_SIGNATURE: signature is not a canonical base64url HMAC-SHA256');
    const other = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expect(read(`v2.${kid}.${payload}.${other}`)).toBe('BAD_SIGNATURE: signature does not match');
  });

  it('tells a truncated payload from a bad layout, at the exact boundary', () => {
    const signed = (bytes: Buffer) => read(forge('2', KEY_A, bytes));
    const full = payloadBytes(validPayload);
    // 14 fixed bytes and three length bytes is the shortest layout; one byte less is truncated.
    expect(signed(full.subarray(0, 16))).toBe('MALFORMED: payload is truncated');
    expect(signed(Buffer.concat([full.subarray(0, 14), Buffer.from([0, 0, 0])]))).toBe('MALFORMED: payload layout is invalid');
    for (const change of [{ strings: ['s', '', 'ON_DEMAND'] }, { strings: ['s', 'a', ''] }, { strings: ['s', 'a', 'ON_DEMAND', 'x'] }, { schemeCode: 2 }]) {
      expect(signed(payloadBytes({ ...validPayload, ...change })), JSON.stringify(change)).toBe('MALFORMED: payload layout is invalid');
    }
    expect(signed(payloadBytes({ ...validPayload, expiresAt: T0 - 1 }))).toBe(`MALFORMED: expiresAt ${T0 - 1} is not after issuedAt ${T0}`);
  });

  it('dates an expired token, and reads one a millisecond before', () => {
    expect(read(token, T0 + HOUR)).toBe(`EXPIRED: token expired at ${new Date(T0 + HOUR).toISOString()}`);
    expect(dual.read(token, T0 + HOUR - 1).ok).toBe(true);
  });

  it('names an unknown classification and an invalid priority with its scheme and version', () => {
    expect(read(forge('2', KEY_A, payloadBytes({ ...validPayload, strings: ['s', 'a', 'GOLD'] })))).toBe('UNKNOWN_CLASSIFICATION: classification "GOLD" is not in the catalog');
    expect(read(forge('2', KEY_A, payloadBytes({ ...validPayload, raw: 151 })))).toBe('BAD_PRIORITY: raw priority 151 (p-scale) is not valid in a v2 token');
    expect(read(forge('1', KEY_A, payloadBytes({ ...validPayload, raw: 75 })))).toBe('BAD_PRIORITY: raw priority 75 (p-scale) is not valid in a v1 token');
    expect(read(forge('2', KEY_A, payloadBytes({ ...validPayload, raw: 2, schemeCode: 1 })))).toBe('BAD_PRIORITY: raw priority 2 (p-scale) is not valid in a v2 token');
  });

  it('refuses a mode it does not know, naming it', () => {
    expect(() => createTokenReader({ domain, keyring, mode: 'both' as 'dual' })).toThrow('UNSUPPORTED_VERSION: unknown read mode "both"');
    expect(() => createTokenWriter({ domain, keyring, mode: 'v3' as 'v2' })).toThrow('UNSUPPORTED_VERSION: unknown write mode "v3"');
  });
});

describe('writer messages', () => {
  const good: SessionClaims = { version: 2, sessionId: 's', accountId: 'a', classification: 'BATCH', rawPriority: 10, scheme: 'p-scale', issuedAt: T0, expiresAt: T0 + 1 };
  const encodeError = (claims: SessionClaims) => {
    try {
      encodeClaims(claims, keyring);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected encodeClaims to refuse');
  };

  it('names the inconsistent claim', () => {
    expect(encodeError({ ...good, version: 3 as 2 })).toBe('UNSUPPORTED_VERSION: cannot write token version 3');
    expect(encodeError({ ...good, rawPriority: 151 })).toBe('BAD_PRIORITY: raw priority 151 is not an integer 0-150');
    expect(encodeError({ ...good, rawPriority: -1 })).toBe('BAD_PRIORITY: raw priority -1 is not an integer 0-150');
    expect(encodeError({ ...good, scheme: 'legacy' })).toBe('BAD_PRIORITY: raw priority 10 belongs to the p-scale scheme, not legacy');
    expect(encodeError({ ...good, rawPriority: 3 })).toBe('BAD_PRIORITY: raw priority 3 belongs to the legacy scheme, not p-scale');
    expect(encodeError({ ...good, version: 1 })).toBe('BAD_PRIORITY: a v1 token carries a legacy level 0-3, not 10');
    expect(encodeError({ ...good, accountId: 'a b' })).toBe('INVALID_CLAIMS: accountId must be 1-255 printable ASCII characters (no spaces), got "a b"');
    expect(encodeError({ ...good, classification: '' })).toBe('INVALID_CLAIMS: classification must be 1-255 printable ASCII characters (no spaces), got ""');
    expect(encodeError({ ...good, issuedAt: -1 })).toBe(`INVALID_CLAIMS: issuedAt must be an integer epoch-ms between 0 and ${MAX_TIME_MS}, got -1`);
    expect(encodeError({ ...good, expiresAt: MAX_TIME_MS + 1 })).toBe(`INVALID_CLAIMS: expiresAt must be an integer epoch-ms between 0 and ${MAX_TIME_MS}, got ${MAX_TIME_MS + 1}`);
    expect(encodeError({ ...good, expiresAt: T0 })).toBe(`INVALID_CLAIMS: expiresAt ${T0} must be after issuedAt ${T0}`);
  });

  it('accepts the edges of every range', () => {
    for (const claims of [
      { ...good, rawPriority: 150 },
      { ...good, rawPriority: 4 },
      { ...good, version: 1 as const, rawPriority: 0, scheme: 'legacy' as const },
      { ...good, issuedAt: 0, expiresAt: 1 },
      { ...good, expiresAt: MAX_TIME_MS },
      { ...good, sessionId: '!', accountId: '~' },
    ]) {
      const result = dual.read(encodeClaims(claims, keyring), claims.issuedAt);
      expect(result.ok && result.claims, JSON.stringify(claims)).toEqual(claims);
    }
  });

  it('names the session field a writer cannot encode', () => {
    const issueError = (change: object) => {
      try {
        v2Writer.issue({ ...session, ...change });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected issue to refuse');
    };
    expect(issueError({ classification: 'GOLD' })).toBe('UNKNOWN_CLASSIFICATION: classification "GOLD" is not in the catalog');
    expect(issueError({ tier: { ...tierNamed('P50'), value: 51 } })).toBe('BAD_PRIORITY: tier "P50" is not on this priority scale');
    expect(issueError({ ttlMs: 0 })).toBe('INVALID_CLAIMS: ttlMs must be a positive integer, got 0');
    expect(issueError({ ttlMs: 1.5 })).toBe('INVALID_CLAIMS: ttlMs must be a positive integer, got 1.5');
    expect(issueError({ issuedAt: MAX_TIME_MS })).toBe(`INVALID_CLAIMS: expiresAt (issuedAt + ttlMs) must be an integer epoch-ms between 0 and ${MAX_TIME_MS}, got ${MAX_TIME_MS + HOUR}`);
  });
});

describe('normalization and key messages', () => {
  it('says why a raw value cannot be normalized', () => {
    expect(() => normalizeRaw(scale, Number.NaN)).toThrow('BAD_PRIORITY: priority value must be a number, got NaN');
    expect(() => normalizeRaw(scale, null as unknown as number)).toThrow('BAD_PRIORITY: priority value must be a number, got object');
    expect(() => normalizeRaw(scale, 2.5)).toThrow('BAD_PRIORITY: priority value must be an integer, got 2.5');
    expect(() => normalizeRaw(scale, 151)).toThrow('BAD_PRIORITY: priority value 151 is outside 0-150');
  });

  it('lists every problem of a keyring with its index', () => {
    expect(() => new Keyring([])).toThrow('key 0: a keyring needs at least one key');
    expect(() => new Keyring([KEY_A], 'other')).toThrow('key 0: current kid "other" is not among the keys');
    expect(() => new Keyring([KEY_A, key('bad kid', 1), key('k2025a', 2), { kid: 'short', secret: new Uint8Array(31) }])).toThrow(
      ['key 1: kid "bad kid" must be 1-32 characters of A-Z a-z 0-9 _ -', 'key 2: kid "k2025a" appears twice', 'key 3: secret for kid "short" is 31 bytes; at least 32 are required'].join('\n'),
    );
    expect(new Keyring([key('k'.repeat(32), 1), { kid: 'exact', secret: new Uint8Array(32) }]).kids).toEqual(['k'.repeat(32), 'exact']);
  });

  it('reads a key spec with base64url secrets and comments, and names what it cannot read', () => {
    const secret = Buffer.alloc(32, 0xfb);
    const ring = parseKeySpec(`a:${secret.toString('base64url')} # current\nb:${secret.toString('base64')}`, 'f');
    const check = createTokenReader({ domain, keyring: new Keyring([{ kid: 'b', secret }]), mode: 'dual' });
    expect(check.read(createTokenWriter({ domain, keyring: ring, mode: 'v2' }).issue(session), T0).ok).toBe(false); // signed by a, the first entry
    expect(ring.kids).toEqual(['a', 'b']);
    expect(createTokenReader({ domain, keyring: new Keyring([{ kid: 'a', secret }]), mode: 'dual' }).read(createTokenWriter({ domain, keyring: ring, mode: 'v2' }).issue(session), T0).ok).toBe(true);
    expect(configIssues(() => parseKeySpec(':abc', 'f'))).toEqual([{ file: 'f', pointer: '/0', message: 'expected kid:secret (secret in base64)' }]);
    expect(configIssues(() => parseKeySpec('', 'f'))).toEqual([{ file: 'f', pointer: '', message: 'no keys: expected kid:secret[,kid:secret...]' }]);
  });

  it('lists every rejection reason once', () => {
    expect([...TOKEN_REJECT_REASONS].sort()).toEqual(['BAD_PRIORITY', 'BAD_SIGNATURE', 'EXPIRED', 'INVALID_CLAIMS', 'MALFORMED', 'OVERSIZED', 'UNKNOWN_CLASSIFICATION', 'UNKNOWN_KID', 'UNSUPPORTED_VERSION']);
  });
});
