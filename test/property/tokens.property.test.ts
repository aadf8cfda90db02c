import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEGACY_LEVELS } from '../../src/catalog/index.js';
import {
  createTokenReader,
  createTokenWriter,
  encodeClaims,
  Keyring,
  lookupRaw,
  MAX_TIME_MS,
  NormalizationError,
  normalizeRaw,
  schemeOfRaw,
  TOKEN_REJECT_REASONS,
  type SessionClaims,
} from '../../src/tokens/index.js';
import { domain, KEY_A, KEY_B, keyring, scale } from '../unit/tokens-support.js';

const dual = createTokenReader({ domain, keyring, mode: 'dual' });
const v2Only = createTokenReader({ domain, keyring, mode: 'v2' });

const printable = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength });

/** Claims as a writer of `version` may produce them; long ids are rare but reach the 255 limit. */
const claimsArb = (version: 1 | 2): fc.Arbitrary<SessionClaims> =>
  fc
    .record({
      sessionId: fc.oneof({ weight: 9, arbitrary: printable(40) }, { weight: 1, arbitrary: printable(255) }),
      accountId: printable(24),
      classification: fc.constantFrom(...domain.catalog.classifications),
      rawPriority: version === 1 ? fc.integer({ min: 0, max: 3 }) : fc.integer({ min: 0, max: 150 }),
      issuedAt: fc.integer({ min: 0, max: MAX_TIME_MS - 1 }),
      lifetime: fc.integer({ min: 1, max: 30 * 24 * 3_600_000 }),
    })
    .map(({ lifetime, ...c }) => ({
      ...c,
      version,
      scheme: schemeOfRaw(c.rawPriority),
      expiresAt: Math.min(c.issuedAt + lifetime, MAX_TIME_MS),
    }));

describe('token codec properties', () => {
  it('decode(encode(claims)) = claims, for v1 and v2', () => {
    fc.assert(
      fc.property(fc.oneof(claimsArb(1), claimsArb(2)), (claims) => {
        const result = dual.read(encodeClaims(claims, keyring), claims.issuedAt);
        expect(result.ok && result.claims).toEqual(claims);
        expect(result.ok && result.tier).toBe(normalizeRaw(scale, claims.rawPriority).tier);
      }),
      { numRuns: 2_000 },
    );
  });

  it('every single-character mutation of a valid token is rejected, never thrown', () => {
    const tokens = [1, 2].flatMap((version) =>
      fc.sample(claimsArb(version as 1 | 2), { numRuns: 50, seed: version }).map((c) => ({ claims: c, token: encodeClaims(c, keyring) })),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...tokens),
        fc.nat(),
        // Mostly byte values (the token as bytes), sometimes any UTF-16 unit.
        fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 255 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
        ({ claims, token }, at, code) => {
          const i = at % token.length;
          fc.pre(token.charCodeAt(i) !== code);
          const mutated = token.slice(0, i) + String.fromCharCode(code) + token.slice(i + 1);
          const result = dual.read(mutated, claims.issuedAt);
          expect(result.ok).toBe(false);
          if (!result.ok) expect(TOKEN_REJECT_REASONS).toContain(result.reason);
        },
      ),
      { numRuns: 12_000 },
    );
  });

  it('deleting or inserting a character is rejected too', () => {
    const token = encodeClaims(fc.sample(claimsArb(2), { numRuns: 1, seed: 7 })[0] as SessionClaims, keyring);
    fc.assert(
      fc.property(fc.nat(token.length), fc.option(fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), { nil: undefined }), (i, insert) => {
        const changed = insert === undefined ? token.slice(0, i) + token.slice(i + 1) : token.slice(0, i) + insert + token.slice(i);
        fc.pre(changed !== token);
        expect(dual.read(changed, 0).ok).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });

  it('arbitrary strings never throw and never yield a priority', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'v12.ABCabc-_=+/'.split('')) , maxLength: 200 })), (text) => {
        const result = dual.read(text, 0);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });

  it('a dual reader and a v2-only reader agree on every v2 token', () => {
    fc.assert(
      fc.property(claimsArb(2), fc.integer({ min: 0, max: MAX_TIME_MS }), (claims, now) => {
        const token = encodeClaims(claims, keyring);
        expect(dual.read(token, now)).toEqual(v2Only.read(token, now));
      }),
      { numRuns: 1_000 },
    );
  });

  it('whichever build wrote a session token, a dual reader gives it the same legacy level, and the same tier when the legacy scale can express it', () => {
    const legacyWriter = createTokenWriter({ domain, keyring, mode: 'legacy' });
    const v2Writer = createTokenWriter({ domain, keyring, mode: 'v2' });
    const legacyReader = createTokenReader({ domain, keyring, mode: 'legacy' });
    fc.assert(
      fc.property(claimsArb(2), fc.constantFrom(...scale.tiers), (claims, tier) => {
        const session = { ...claims, tier, ttlMs: claims.expiresAt - claims.issuedAt };
        const v1Token = legacyWriter.issue(session);
        const fromOld = dual.read(v1Token, claims.issuedAt);
        const fromNew = dual.read(v2Writer.issue(session), claims.issuedAt);
        if (!fromOld.ok || !fromNew.ok) throw new Error('a freshly issued token was rejected');
        expect(fromNew.tier).toBe(tier);
        expect(fromOld.legacyLevel).toBe(fromNew.legacyLevel);
        if (scale.tierOfLegacy(tier.legacyLevel) === tier) expect(fromOld.tier).toBe(fromNew.tier);
        // An old build reads the v1 token exactly as a dual reader does.
        expect(legacyReader.read(v1Token, claims.issuedAt)).toEqual(fromOld);
      }),
      { numRuns: 500 },
    );
  });

  it('a token signed under a previous kid verifies while that kid is held and fails once removed', () => {
    fc.assert(
      fc.property(claimsArb(2), fc.uint8Array({ minLength: 32, maxLength: 64 }), fc.boolean(), (claims, newSecret, v1Writer) => {
        const oldRing = new Keyring([KEY_A]);
        const rotated = new Keyring([{ kid: 'next', secret: newSecret }, KEY_A]);
        const retired = new Keyring([{ kid: 'next', secret: newSecret }, KEY_B]);
        const session = { ...claims, tier: normalizeRaw(scale, claims.rawPriority).tier, ttlMs: claims.expiresAt - claims.issuedAt };
        const token = createTokenWriter({ domain, keyring: oldRing, mode: v1Writer ? 'legacy' : 'v2' }).issue(session);
        const readWith = (ring: Keyring) => createTokenReader({ domain, keyring: ring, mode: 'dual' }).read(token, claims.issuedAt);
        expect(readWith(rotated).ok).toBe(true);
        expect(readWith(retired)).toMatchObject({ ok: false, reason: 'UNKNOWN_KID' });
      }),
      { numRuns: 300 },
    );
  });

  it('the signature is RFC 2104 HMAC-SHA256 over version.kid.payload', () => {
    fc.assert(
      fc.property(claimsArb(2), (claims) => {
        const token = encodeClaims(claims, keyring);
        const cut = token.lastIndexOf('.');
        expect(token.slice(cut + 1)).toBe(createHmac('sha256', KEY_A.secret).update(token.slice(0, cut)).digest('base64url'));
      }),
      { numRuns: 200 },
    );
  });
});

describe('normalization properties', () => {
  it('legacy → tier → legacy is the identity on 0-3', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LEGACY_LEVELS), (level) => {
        expect(scale.tierOfLegacy(level).legacyLevel).toBe(level);
        expect(normalizeRaw(scale, level).legacyLevel).toBe(level);
      }),
    );
  });

  it('is total on the integers 0-150', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 150 }), (raw) => {
        const n = normalizeRaw(scale, raw);
        expect(scale.tiers).toContain(n.tier);
        expect(n.legacyLevel).toBe(raw <= 3 ? raw : n.tier.legacyLevel);
      }),
      { numRuns: 500 },
    );
  });

  it('is monotone on 4-150: a higher raw value never yields a lower tier', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 150 }), fc.integer({ min: 4, max: 150 }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(normalizeRaw(scale, lo).tier.value).toBeLessThanOrEqual(normalizeRaw(scale, hi).tier.value);
      }),
      { numRuns: 1_000 },
    );
  });

  it('every tier written to a legacy level reads back as a tier with that same legacy level', () => {
    fc.assert(
      fc.property(fc.constantFrom(...scale.tiers), (tier) => {
        expect(normalizeRaw(scale, tier.legacyLevel).legacyLevel).toBe(tier.legacyLevel);
        expect(normalizeRaw(scale, tier.value).tier).toBe(tier);
      }),
    );
  });

  it('rejects everything that is not an integer 0-150 with a typed error', () => {
    const outside = fc.oneof(
      fc.integer({ max: -1 }),
      fc.integer({ min: 151 }),
      fc.double({ noInteger: true }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    );
    fc.assert(
      fc.property(outside, (raw) => {
        expect(() => normalizeRaw(scale, raw)).toThrow(NormalizationError);
        expect(lookupRaw(scale, raw)).toBeUndefined();
      }),
      { numRuns: 1_000 },
    );
  });
});
