import { describe, expect, it } from 'vitest';
import {
  createTokenReader,
  createTokenWriter,
  encodeClaims,
  Keyring,
  KeyringError,
  MAX_TOKEN_CHARS,
  NormalizationError,
  TokenError,
  type SessionClaims,
  type TokenReadResult,
} from '../../src/tokens/index.js';
import { domain, forge, HOUR, key, KEY_A, KEY_B, keyring, payloadBytes, T0, tierNamed, validPayload } from './tokens-support.js';

const session = (tier: string, extra: Partial<{ classification: string; ttlMs: number; issuedAt: number }> = {}) => ({
  sessionId: 'sess-42',
  accountId: '123456789012',
  classification: 'ON_DEMAND',
  tier: tierNamed(tier),
  issuedAt: T0,
  ttlMs: HOUR,
  ...extra,
});

const legacyWriter = createTokenWriter({ domain, keyring, mode: 'legacy' });
const v2Writer = createTokenWriter({ domain, keyring, mode: 'v2' });
const dualReader = createTokenReader({ domain, keyring, mode: 'dual' });
const legacyReader = createTokenReader({ domain, keyring, mode: 'legacy' });

function rejection(result: TokenReadResult): string {
  if (result.ok) throw new Error(`expected a rejection, got tier ${result.tier.name}`);
  expect(result).not.toHaveProperty('tier');
  expect(result).not.toHaveProperty('claims');
  return result.reason;
}

function accepted(result: TokenReadResult) {
  if (!result.ok) throw new Error(`expected acceptance, got ${result.reason}: ${result.message}`);
  return result;
}

describe('token writers and readers across builds', () => {
  it('a v1 token from the legacy writer and a v2 token from the new writer read as the same tier under a dual reader', () => {
    for (const l of domain.scale.legacyLevels) {
      const v1 = accepted(dualReader.read(legacyWriter.issue(session(l.tier.name)), T0 + 1));
      const v2 = accepted(dualReader.read(v2Writer.issue(session(l.tier.name)), T0 + 1));
      expect(v1.claims.version).toBe(1);
      expect(v2.claims.version).toBe(2);
      expect(v1.tier).toBe(l.tier);
      expect(v2.tier).toBe(l.tier);
      expect(v1.legacyLevel).toBe(v2.legacyLevel);
    }
  });

  it('a tier the legacy scale cannot express keeps its legacy level through a v1 token and its exact tier through v2', () => {
    const p90 = tierNamed('P90');
    const v1 = accepted(dualReader.read(legacyWriter.issue(session('P90')), T0));
    const v2 = accepted(dualReader.read(v2Writer.issue(session('P90')), T0));
    expect(v1.claims).toMatchObject({ rawPriority: p90.legacyLevel, scheme: 'legacy' });
    expect(v1.legacyLevel).toBe(p90.legacyLevel);
    expect(v1.tier).toBe(domain.scale.tierOfLegacy(p90.legacyLevel));
    expect(v2.claims).toMatchObject({ rawPriority: 90, scheme: 'p-scale' });
    expect(v2.tier).toBe(p90);
    expect(v2.legacyLevel).toBe(0);
  });

  it('decodes every claim a writer put in', () => {
    const r = accepted(dualReader.read(v2Writer.issue(session('P25', { classification: 'CROSS_REGION' })), T0));
    expect(r.claims).toEqual({
      version: 2,
      sessionId: 'sess-42',
      accountId: '123456789012',
      classification: 'CROSS_REGION',
      rawPriority: 25,
      scheme: 'p-scale',
      issuedAt: T0,
      expiresAt: T0 + HOUR,
    });
  });

  it('a legacy reader reads v1 and refuses v2 as UNSUPPORTED_VERSION', () => {
    expect(accepted(legacyReader.read(legacyWriter.issue(session('P50')), T0)).tier.name).toBe('P50');
    expect(rejection(legacyReader.read(v2Writer.issue(session('P50')), T0))).toBe('UNSUPPORTED_VERSION');
  });

  it('a v2 reader reads v2 and refuses v1 as UNSUPPORTED_VERSION', () => {
    const v2Reader = createTokenReader({ domain, keyring, mode: 'v2' });
    expect(accepted(v2Reader.read(v2Writer.issue(session('P50')), T0)).tier.name).toBe('P50');
    expect(rejection(v2Reader.read(legacyWriter.issue(session('P50')), T0))).toBe('UNSUPPORTED_VERSION');
  });

  it('refuses unknown versions, and modes it does not know', () => {
    expect(rejection(dualReader.read(forge('3', KEY_A, payloadBytes(validPayload)), T0))).toBe('UNSUPPORTED_VERSION');
    expect(rejection(dualReader.read(forge('02', KEY_A, payloadBytes(validPayload)), T0))).toBe('MALFORMED');
    expect(() => createTokenReader({ domain, keyring, mode: 'v1' as 'dual' })).toThrow(TokenError);
    expect(() => createTokenWriter({ domain, keyring, mode: 'dual' as 'v2' })).toThrow(TokenError);
  });

  it('accepts a correctly forged token (the forger is sound), so the rejections below test what they claim', () => {
    expect(accepted(dualReader.read(forge('2', KEY_A, payloadBytes(validPayload)), T0)).tier.name).toBe('P75');
  });
});

describe('rejections', () => {
  const token = v2Writer.issue(session('P75'));
  const [version, kid, payload, signature] = token.split('.') as [string, string, string, string];

  it('a changed payload character is a BAD_SIGNATURE', () => {
    const flipped = payload.slice(0, 5) + (payload[5] === 'A' ? 'B' : 'A') + payload.slice(6);
    expect(rejection(dualReader.read([version, kid, flipped, signature].join('.'), T0))).toBe('BAD_SIGNATURE');
  });

  it('a changed signature is a BAD_SIGNATURE, including a non-canonical spelling of the same bytes', () => {
    const other = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    expect(rejection(dualReader.read([version, kid, payload, other].join('.'), T0))).toBe('BAD_SIGNATURE');
    // The last of 43 characters carries 2 padding bits: setting one keeps the decoded bytes identical.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature.slice(-1));
    const sloppy = signature.slice(0, -1) + alphabet.charAt(last | 1);
    expect(Buffer.from(sloppy, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
    expect(rejection(dualReader.read([version, kid, payload, sloppy].join('.'), T0))).toBe('BAD_SIGNATURE');
  });

  it('standard-base64 characters that decode like base64url ones are rejected', () => {
    // Node's base64url decoder also accepts '+' and '/', so without the alphabet check these would verify.
    const withUrlChars = Array.from({ length: 20 }, (_, i) => v2Writer.issue({ ...session('P75'), sessionId: `s${i}` })).find((t) => /[-_]/.test(t));
    if (withUrlChars === undefined) throw new Error('no token with - or _ among 20 issued');
    const withPlus = withUrlChars.replace(/[-_]/g, (c) => (c === '-' ? '+' : '/'));
    expect(Buffer.from(withPlus.split('.')[3] as string, 'base64url')).toEqual(Buffer.from(withUrlChars.split('.')[3] as string, 'base64url'));
    expect(rejection(dualReader.read(withPlus, T0))).toBe('BAD_SIGNATURE');
    expect(rejection(dualReader.read(`${token}=`, T0))).toBe('BAD_SIGNATURE');
    // Only in the signature: the same bytes spelled with '+' instead of '-'.
    const i = signature.search(/[-_]/);
    if (i >= 0) {
      const spelled = signature.slice(0, i) + (signature[i] === '-' ? '+' : '/') + signature.slice(i + 1);
      expect(rejection(dualReader.read([version, kid, payload, spelled].join('.'), T0))).toBe('BAD_SIGNATURE');
    }
  });

  it('a swapped version or kid fails: both are signed', () => {
    expect(rejection(dualReader.read(['v1', kid, payload, signature].join('.'), T0))).toBe('BAD_SIGNATURE');
    const two = new Keyring([KEY_A, { kid: 'other', secret: KEY_A.secret }]);
    const reader = createTokenReader({ domain, keyring: two, mode: 'dual' });
    expect(rejection(reader.read([version, 'other', payload, signature].join('.'), T0))).toBe('BAD_SIGNATURE');
  });

  it('an unknown kid is UNKNOWN_KID', () => {
    const foreign = createTokenWriter({ domain, keyring: new Keyring([KEY_B]), mode: 'v2' }).issue(session('P75'));
    expect(rejection(dualReader.read(foreign, T0))).toBe('UNKNOWN_KID');
  });

  it.each([
    ['empty', ''],
    ['only dots', '...'],
    ['truncated in the payload', token.slice(0, token.lastIndexOf('.') - 3)],
    ['missing the signature', token.slice(0, token.lastIndexOf('.'))],
    ['an extra part', `${token}.AAAA`],
    ['an empty kid', [version, '', payload, signature].join('.')],
    ['an empty payload', [version, kid, '', signature].join('.')],
    ['whitespace', ` ${token}`],
    ['non-ASCII in the version', token.replace('v2', 'v²')],
    ['a non-ASCII digit as version', token.replace('v2', 'v\u0662')],
    ['JSON', '{"priority":0}'],
  ])('%s is MALFORMED', (_label, text) => {
    expect(rejection(dualReader.read(text, T0))).toBe('MALFORMED');
  });

  it('a non-ASCII character in the kid or payload is rejected, even one whose low byte is the original', () => {
    const at = token.indexOf('.', 3) + 5; // inside the payload
    const lookalike = String.fromCharCode(0x100 + token.charCodeAt(at));
    expect(rejection(dualReader.read(token.slice(0, at) + lookalike + token.slice(at + 1), T0))).toBe('BAD_SIGNATURE');
    expect(rejection(dualReader.read(token.replace(kid, `${kid}\u00e9`), T0))).toBe('UNKNOWN_KID');
  });

  it('a truncated signature is a BAD_SIGNATURE', () => {
    expect(rejection(dualReader.read(token.slice(0, -1), T0))).toBe('BAD_SIGNATURE');
  });

  it('anything longer than 2 KiB is OVERSIZED before it is parsed', () => {
    expect(rejection(dualReader.read(token + 'A'.repeat(MAX_TOKEN_CHARS - token.length + 1), T0))).toBe('OVERSIZED');
    expect(rejection(dualReader.read('.'.repeat(100_000), T0))).toBe('OVERSIZED');
  });

  it('non-string input is MALFORMED, not a throw', () => {
    expect(rejection(dualReader.read(undefined as unknown as string, T0))).toBe('MALFORMED');
    expect(rejection(dualReader.read({ toString: () => token } as unknown as string, T0))).toBe('MALFORMED');
  });

  it('a token is EXPIRED from its expiresAt on', () => {
    expect(accepted(dualReader.read(token, T0 + HOUR - 1)).tier.name).toBe('P75');
    expect(rejection(dualReader.read(token, T0 + HOUR))).toBe('EXPIRED');
    expect(rejection(dualReader.read(token, Number.NaN))).toBe('EXPIRED');
  });

  it('a classification outside the catalog is UNKNOWN_CLASSIFICATION, even when correctly signed', () => {
    const wider = { ...domain, catalog: { ...domain.catalog, classifications: [...domain.catalog.classifications, 'TOMORROWS_CLASS'] } };
    const fromNewerCatalog = createTokenWriter({ domain: wider, keyring, mode: 'v2' }).issue(session('P50', { classification: 'TOMORROWS_CLASS' }));
    expect(rejection(dualReader.read(fromNewerCatalog, T0))).toBe('UNKNOWN_CLASSIFICATION');
  });

  it.each([
    ['a raw value above 150', '2', { raw: 151 }],
    ['a p-scale value labelled legacy', '2', { raw: 75, schemeCode: 0 }],
    ['a legacy level labelled p-scale', '2', { raw: 2, schemeCode: 1 }],
    ['a p-scale value in a v1 token', '1', { raw: 75, schemeCode: 1 }],
  ])('%s is BAD_PRIORITY', (_label, v, change) => {
    expect(rejection(dualReader.read(forge(v, KEY_A, payloadBytes({ ...validPayload, ...change })), T0))).toBe('BAD_PRIORITY');
  });

  it.each([
    ['an unknown scheme code', { schemeCode: 2 }],
    ['trailing bytes', { trailing: new Uint8Array([0]) }],
    ['an empty session id', { strings: ['', 'acct', 'ON_DEMAND'] }],
    ['a missing string', { strings: ['sess', 'acct'] }],
    ['expiry not after issue', { expiresAt: T0 }],
  ])('a signed payload with %s is MALFORMED', (_label, change) => {
    expect(rejection(dualReader.read(forge('2', KEY_A, payloadBytes({ ...validPayload, ...change })), T0))).toBe('MALFORMED');
  });

  it('a signed but truncated payload is MALFORMED', () => {
    expect(rejection(dualReader.read(forge('2', KEY_A, payloadBytes(validPayload).subarray(0, 10)), T0))).toBe('MALFORMED');
  });
});

describe('writers refuse what they cannot encode', () => {
  it.each([
    ['an unknown classification', { classification: 'GOLD' }, 'UNKNOWN_CLASSIFICATION'],
    ['a zero TTL', { ttlMs: 0 }, 'INVALID_CLAIMS'],
    ['a fractional issue time', { issuedAt: 1.5 }, 'INVALID_CLAIMS'],
    ['an expiry beyond 48 bits', { issuedAt: 2 ** 48 - 10, ttlMs: HOUR }, 'INVALID_CLAIMS'],
  ])('%s', (_label, change, reason) => {
    expect(() => v2Writer.issue(session('P50', change))).toThrow(expect.objectContaining({ reason }));
  });

  it('ids must be printable ASCII up to 255 characters', () => {
    for (const sessionId of ['', 'with space', 'x'.repeat(256), 'ünïcode']) {
      expect(() => v2Writer.issue({ ...session('P50'), sessionId })).toThrow(expect.objectContaining({ reason: 'INVALID_CLAIMS' }));
    }
    expect(accepted(dualReader.read(v2Writer.issue({ ...session('P50'), sessionId: 'x'.repeat(255) }), T0)).claims.sessionId).toHaveLength(255);
  });

  it('a tier from another scale is BAD_PRIORITY', () => {
    expect(() => v2Writer.issue({ ...session('P50'), tier: { ...tierNamed('P50'), value: 51 } })).toThrow(expect.objectContaining({ reason: 'BAD_PRIORITY' }));
  });

  it('encodeClaims refuses inconsistent claims', () => {
    const good: SessionClaims = { version: 2, sessionId: 's', accountId: 'a', classification: 'BATCH', rawPriority: 10, scheme: 'p-scale', issuedAt: T0, expiresAt: T0 + 1 };
    expect(accepted(dualReader.read(encodeClaims(good, keyring), T0)).claims).toEqual(good);
    expect(() => encodeClaims({ ...good, version: 1 }, keyring)).toThrow(expect.objectContaining({ reason: 'BAD_PRIORITY' }));
    expect(() => encodeClaims({ ...good, scheme: 'legacy' }, keyring)).toThrow(expect.objectContaining({ reason: 'BAD_PRIORITY' }));
    expect(() => encodeClaims({ ...good, rawPriority: 151 }, keyring)).toThrow(expect.objectContaining({ reason: 'BAD_PRIORITY' }));
    expect(() => encodeClaims({ ...good, version: 3 as 2 }, keyring)).toThrow(expect.objectContaining({ reason: 'UNSUPPORTED_VERSION' }));
    expect(() => encodeClaims({ ...good, expiresAt: T0 }, keyring)).toThrow(expect.objectContaining({ reason: 'INVALID_CLAIMS' }));
  });

  it('every writer error is a TokenError', () => {
    expect(() => v2Writer.issue(session('P50', { ttlMs: -1 }))).toThrow(TokenError);
  });
});

describe('key rotation', () => {
  it('signs with the current kid and verifies any held kid', () => {
    const before = new Keyring([KEY_A]);
    const staged = new Keyring([KEY_A, KEY_B]); // B verifies only
    const switched = new Keyring([KEY_B, KEY_A]); // B signs, A still verifies
    const after = new Keyring([KEY_B]);
    const oldToken = createTokenWriter({ domain, keyring: before, mode: 'v2' }).issue(session('P90'));
    const stagedToken = createTokenWriter({ domain, keyring: staged, mode: 'v2' }).issue(session('P90'));
    const newToken = createTokenWriter({ domain, keyring: switched, mode: 'v2' }).issue(session('P90'));
    expect(oldToken.split('.')[1]).toBe('k2025a');
    expect(stagedToken.split('.')[1]).toBe('k2025a');
    expect(newToken.split('.')[1]).toBe('k2025b');
    const read = (ring: Keyring, t: string) => createTokenReader({ domain, keyring: ring, mode: 'dual' }).read(t, T0);
    expect(accepted(read(switched, oldToken)).tier.name).toBe('P90');
    expect(accepted(read(staged, newToken)).tier.name).toBe('P90');
    expect(rejection(read(after, oldToken))).toBe('UNKNOWN_KID');
    expect(rejection(read(before, newToken))).toBe('UNKNOWN_KID');
  });

  it('an explicit current kid overrides the order', () => {
    expect(new Keyring([KEY_A, KEY_B], 'k2025b').currentKid).toBe('k2025b');
  });

  it('refuses unusable keys, listing each problem', () => {
    const err = (() => {
      try {
        new Keyring([key('bad kid', 1), { kid: 'short', secret: new Uint8Array(16) }, key('dup', 2), key('dup', 3)]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(KeyringError);
    expect((err as KeyringError).problems.map((p) => p.index)).toEqual([0, 1, 3]);
    expect(() => new Keyring([])).toThrow(KeyringError);
    expect(() => new Keyring([KEY_A], 'nope')).toThrow(/current kid "nope"/);
  });

  it('never shows a secret in JSON', () => {
    expect(JSON.stringify(new Keyring([KEY_A, KEY_B]))).toBe('{"currentKid":"k2025a","kids":["k2025a","k2025b"]}');
  });
});

describe('errors are typed', () => {
  it('NormalizationError is a TokenError with reason BAD_PRIORITY', () => {
    const e = new NormalizationError(151, 'x');
    expect(e).toBeInstanceOf(TokenError);
    expect(e.reason).toBe('BAD_PRIORITY');
  });
});
