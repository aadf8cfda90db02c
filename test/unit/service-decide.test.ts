import { describe, expect, it } from 'vitest';
import { codecCache, rank, rankingMapping, type Ranked, type ServiceRequest } from '../../src/service/index.js';
import type { Flags } from '../../src/migration/index.js';
import { LEGACY_FLAGS, PHASE1_FLAGS, PHASE2_FLAGS, keyring, snapshot } from '../support/serve.js';

const codecs = codecCache(keyring);
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const ptv1: ServiceRequest = { accountId: 'acct-1', classification: 'PTV1', serviceTier: 'RESERVED', requestType: null, modelId: 'm', region: 'r' };

function rankUnder(flags: Flags, request: ServiceRequest, token?: string, nowMs = T0): Ranked {
  const snap = snapshot(flags);
  const r = rank(snap, codecs(snap), { request, sessionToken: token, newSessionId: 'sess-1', nowMs }, { sessionTtlMs: HOUR });
  if (!r.ok) throw new Error(`failed closed: ${r.error.message}`);
  return r;
}

describe('rank: which mapping decides', () => {
  it('ranks by the legacy mapping until service tiers are enforced or the scheme is tiered', () => {
    expect(rankingMapping(LEGACY_FLAGS)).toBe('legacy');
    expect(rankingMapping(PHASE1_FLAGS)).toBe('legacy');
    expect(rankingMapping(PHASE2_FLAGS)).toBe('tiered');
    expect(rankingMapping({ ...LEGACY_FLAGS, priorityScheme: 'tiered' })).toBe('tiered');
  });

  it('legacy flags: a PTV1 request is legacy level 0 (P100), logged as the level, with a v1 token and nothing observed', () => {
    const r = rankUnder(LEGACY_FLAGS, ptv1);
    expect(r).toMatchObject({ mapping: 'legacy', source: 'rules', legacyLevel: 0, qos: 0, preemptable: false, loggedPriority: 0, ruleId: 'legacy-provisioned', observed: undefined, tokenRejected: undefined });
    expect(r.tier.name).toBe('P100');
    expect(r.sessionToken?.startsWith('v1.test-serve.')).toBe(true);
  });

  it('phase 1 still ranks by the legacy mapping and observes the tiered one', () => {
    const r = rankUnder(PHASE1_FLAGS, ptv1);
    expect(r.tier.name).toBe('P100');
    expect(r.observed).toMatchObject({ ok: true, mapping: 'tiered', qos: 0 });
    expect(r.observed?.ok === true && r.observed.tier.name).toBe('P90');
  });

  it('phase 2 ranks by the tiered mapping, logs the tier name and writes a v2 token', () => {
    const r = rankUnder(PHASE2_FLAGS, ptv1);
    expect(r).toMatchObject({ mapping: 'tiered', loggedPriority: 'P90', legacyLevel: 0, ruleId: 'reserved-ptv1' });
    expect(r.sessionToken?.startsWith('v2.')).toBe(true);
    expect(r.observed?.ok === true && r.observed.tier.name).toBe('P100');
  });

  it('fails closed on a classification outside the catalog, naming it, whatever token comes along', () => {
    const token = rankUnder(PHASE2_FLAGS, ptv1).sessionToken;
    const snap = snapshot(PHASE2_FLAGS);
    const r = rank(snap, codecs(snap), { request: { ...ptv1, classification: 'GOLD' }, sessionToken: token, newSessionId: 's', nowMs: T0 }, { sessionTtlMs: HOUR });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'UNKNOWN_VALUE', attribute: 'classification', value: 'GOLD' });
  });
});

describe('rank: session tokens', () => {
  it('a dual reader keeps the tier a v2 token carries (P90) under the legacy mapping, and hands the token back unchanged', () => {
    const first = rankUnder(PHASE2_FLAGS, ptv1);
    const again = rankUnder(PHASE1_FLAGS, ptv1, first.sessionToken, T0 + 1000);
    expect(again).toMatchObject({ source: 'token', sessionToken: first.sessionToken, sessionId: 'sess-1', loggedPriority: 0 });
    expect(again.tier.name).toBe('P90');
  });

  it('a v2 writer upgrades a v1 token to v2 for the same session and expiry, keeping its tier', () => {
    const first = rankUnder(LEGACY_FLAGS, ptv1);
    const again = rankUnder(PHASE2_FLAGS, ptv1, first.sessionToken, T0 + 1000);
    expect(again.source).toBe('token');
    expect(again.tier.name).toBe('P100');
    expect(again.sessionToken?.startsWith('v2.')).toBe(true);
    const third = rankUnder(PHASE1_FLAGS, ptv1, again.sessionToken, T0 + 2000);
    expect(third.tier.name).toBe('P100');
    // Same expiry as the original: one hour after T0, expired at T0 + HOUR.
    expect(rankUnder(PHASE1_FLAGS, ptv1, again.sessionToken, T0 + HOUR).tokenRejected).toBe('EXPIRED');
  });

  it('a legacy reader refuses a v2 token (UNSUPPORTED_VERSION) and ranks fresh', () => {
    const v2 = rankUnder(PHASE2_FLAGS, ptv1).sessionToken;
    const r = rankUnder(LEGACY_FLAGS, ptv1, v2);
    expect(r).toMatchObject({ source: 'rules', tokenRejected: 'UNSUPPORTED_VERSION' });
    expect(r.tier.name).toBe('P100');
    expect(r.sessionToken).not.toBe(v2);
  });

  it('a forged, malformed, foreign-account or foreign-classification token never decides', () => {
    const token = rankUnder(PHASE2_FLAGS, { ...ptv1, classification: 'ON_DEMAND', serviceTier: 'DEFAULT' }).sessionToken as string;
    const request: ServiceRequest = { ...ptv1, classification: 'ON_DEMAND', serviceTier: 'DEFAULT' };
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    expect(rankUnder(PHASE2_FLAGS, request, flipped).tokenRejected).toBe('BAD_SIGNATURE');
    expect(rankUnder(PHASE2_FLAGS, request, 'not-a-token').tokenRejected).toBe('MALFORMED');
    expect(rankUnder(PHASE2_FLAGS, { ...request, accountId: 'acct-2' }, token).tokenRejected).toBe('ACCOUNT_MISMATCH');
    expect(rankUnder(PHASE2_FLAGS, { ...request, classification: 'PREMIUM_ON_DEMAND' }, token).tokenRejected).toBe('CLASSIFICATION_MISMATCH');
    const fresh = rankUnder(PHASE2_FLAGS, request, flipped);
    expect(fresh.source).toBe('rules');
    expect(fresh.tier.name).toBe('P50');
  });

  it('a valid token sets the tier, the rule in force still sets QoS and preemptable', () => {
    const batch: ServiceRequest = { ...ptv1, classification: 'BATCH', serviceTier: 'DEFAULT', requestType: 'BATCH' };
    const first = rankUnder(PHASE2_FLAGS, batch);
    expect(first.tier.name).toBe('P10');
    const again = rankUnder(LEGACY_FLAGS, batch, first.sessionToken?.startsWith('v2.') ? rankUnder(PHASE1_FLAGS, batch).sessionToken : first.sessionToken);
    expect(again).toMatchObject({ source: 'token', qos: 10, preemptable: true });
  });

  it('takes the session id of a new session from the caller and keeps the token session id afterwards', () => {
    const snap = snapshot(PHASE1_FLAGS);
    const a = rank(snap, codecs(snap), { request: ptv1, newSessionId: 'client-chosen', nowMs: T0 }, { sessionTtlMs: HOUR });
    expect(a.ok && a.sessionId).toBe('client-chosen');
    const b = rank(snap, codecs(snap), { request: ptv1, sessionToken: a.ok ? a.sessionToken : '', newSessionId: 'other', nowMs: T0 }, { sessionTtlMs: HOUR });
    expect(b.ok && b.sessionId).toBe('client-chosen');
  });
});
