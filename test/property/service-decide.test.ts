/**
 * The mixed-fleet property: under dual read, a session keeps the tier of its first ranking on
 * every instance it bounces to, whichever flags each instance runs and whichever wrote its token.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codecCache, rank, type ServiceRequest } from '../../src/service/index.js';
import type { Flags } from '../../src/migration/index.js';
import { LEGACY_FLAGS, PHASE1_FLAGS, PHASE2_FLAGS, domain, keyring, snapshot } from '../support/serve.js';

const codecs = codecCache(keyring);
const dualLegacy: Flags = { ...LEGACY_FLAGS, tokenReadMode: 'dual' };
const fleet = [dualLegacy, PHASE1_FLAGS, PHASE2_FLAGS, { ...PHASE2_FLAGS, priorityScheme: 'tiered' as const }].map((f) => snapshot(f));
const { catalog } = domain;
const orNull = <T>(values: readonly T[]) => fc.constantFrom<T | null>(...values, null);

const requestArb = fc.record({
  accountId: fc.constantFrom('acct-a', 'acct-b'),
  classification: fc.constantFrom(...catalog.classifications),
  serviceTier: orNull(catalog.serviceTiers),
  requestType: orNull(catalog.requestTypes),
  modelId: fc.constant('m'),
  region: fc.constant('r'),
});

describe('rank across a mixed fleet under dual read', () => {
  it('every request of a session gets the tier of its first ranking', () => {
    fc.assert(
      fc.property(requestArb, fc.array(fc.nat(fleet.length - 1), { minLength: 2, maxLength: 8 }), (request: ServiceRequest, hops) => {
        let token: string | undefined;
        let firstTier: string | undefined;
        hops.forEach((i, n) => {
          const snap = fleet[i]!;
          const r = rank(snap, codecs(snap), { request, sessionToken: token, newSessionId: 's', nowMs: 1_700_000_000_000 + n }, { sessionTtlMs: 3_600_000 });
          if (!r.ok) return; // fails closed on every instance alike (same catalog)
          expect(r.tokenRejected).toBeUndefined();
          firstTier ??= r.tier.name;
          expect(r.tier.name).toBe(firstTier);
          token = r.sessionToken;
        });
      }),
      { numRuns: 500 },
    );
  });

  it('a legacy-only reader behind a v2 writer re-ranks sessions: why writers wait for every reader to be dual', () => {
    const legacy = snapshot(LEGACY_FLAGS);
    const phase2 = fleet[2]!;
    const request: ServiceRequest = { accountId: 'a', classification: 'PTV1', serviceTier: 'RESERVED', requestType: null, modelId: 'm', region: 'r' };
    const first = rank(phase2, codecs(phase2), { request, newSessionId: 's', nowMs: 0 }, { sessionTtlMs: 1000 });
    const second = first.ok ? rank(legacy, codecs(legacy), { request, sessionToken: first.sessionToken, newSessionId: 's', nowMs: 1 }, { sessionTtlMs: 1000 }) : first;
    expect(first.ok && first.tier.name).toBe('P90');
    expect(second.ok && [second.tokenRejected, second.tier.name]).toEqual(['UNSUPPORTED_VERSION', 'P100']);
  });
});
