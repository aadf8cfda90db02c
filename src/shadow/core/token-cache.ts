/**
 * Token checks for the replay: each session token is read by a legacy reader and a dual reader
 * and the two answers are compared. A session's token rides on every request of the session,
 * so a replay sees the same token string thousands of times; verifying two HMACs each time
 * would cap the replay's rate. The checker verifies a token once and answers later records
 * from a bounded cache, re-applying the only time-dependent check (expiry) against each
 * record's own time.
 *
 * What is cached is each reader's verdict at a time before any token expires: an accepted token
 * (whose `expiresAt` then decides EXPIRED per record) or a rejection that does not depend on
 * time (malformed, oversized, bad signature, unknown kid, unsupported version). A rejection a
 * reader only reaches after its expiry check is never cached: such tokens are read afresh each
 * time. A property test holds the checker to the plain readers' answers. Pure.
 */
import type { TokenReader, TokenReadResult } from '../../tokens/index.js';

/** What the replay counts for one token on one record. */
export interface TokenVerdict {
  /** The dual reader (a migrated build) accepts the token. */
  readonly valid: boolean;
  /** The dual reader's reject reason when not valid. */
  readonly reason: string | undefined;
  /** How the legacy and the dual reader disagree, if they do (see {@link tokenMismatch}). */
  readonly mismatch: string | undefined;
}

export type TokenChecker = (token: string, nowMs: number) => TokenVerdict;

const TIME_INDEPENDENT = new Set(['MALFORMED', 'OVERSIZED', 'BAD_SIGNATURE', 'UNKNOWN_KID', 'UNSUPPORTED_VERSION']);
/** A time before every token's expiry (tokens carry expiresAt > issuedAt >= 0). */
const BEFORE_ANY_EXPIRY = -1;

/** How the legacy and the dual reader disagree on a token, if they do. */
export function tokenMismatch(legacy: TokenReadResult, dual: TokenReadResult): string | undefined {
  if (legacy.ok && dual.ok) {
    if (legacy.legacyLevel !== dual.legacyLevel) return 'levelDiffers';
    if (legacy.tier !== dual.tier) return 'tierDiffers';
    return undefined;
  }
  if (legacy.ok && !dual.ok) return `dualRejects:${dual.reason}`;
  if (!legacy.ok && dual.ok) return `legacyRejects:${legacy.reason}`;
  return undefined;
}

/**
 * Reads a token with both readers. A legacy reader differs from a dual reader only in refusing
 * version 2 (the readers' contract), so for a `v1.` token the dual reader's answer is the
 * legacy reader's too and its HMAC is computed once, not twice. The property test that holds
 * the cached checker to {@link checkToken} also covers this.
 */
function readBoth(legacy: TokenReader, dual: TokenReader, token: string, nowMs: number): { l: TokenReadResult; d: TokenReadResult } {
  const d = dual.read(token, nowMs);
  return { l: token.startsWith('v1.') ? d : legacy.read(token, nowMs), d };
}

/** The verdict straight from both readers, no cache: the reference the cached checker must match. */
export function checkToken(legacy: TokenReader, dual: TokenReader, token: string, nowMs: number): TokenVerdict {
  const l = legacy.read(token, nowMs);
  const d = dual.read(token, nowMs);
  return { valid: d.ok, reason: d.ok ? undefined : d.reason, mismatch: tokenMismatch(l, d) };
}

interface CacheEntry {
  readonly token: string;
  /** Verdict for any time before `validUntil`; null when the token must be read afresh each time. */
  readonly verdict: TokenVerdict | null;
  /** Epoch ms from which the cached verdict no longer holds (an accepted token expires); Infinity if never. */
  readonly validUntil: number;
}

/**
 * Slot of a token in the direct-mapped cache, from the characters just before its end. In a
 * well-formed token these are HMAC output (uniformly random base64url), so a few of them index
 * as well as a hash of the whole string, without hashing 150 characters per record as a Map
 * keyed by the token would. Any other string still gets a slot; the full token is compared on
 * every hit, so a collision only costs a re-read, never a wrong verdict.
 */
function slotOf(token: string, mask: number): number {
  const n = token.length;
  let h = n;
  for (let i = Math.max(0, n - 9); i < n - 1; i++) h = Math.imul(h, 31) + token.charCodeAt(i);
  return (h ^ (h >>> 16)) & mask;
}

/**
 * A checker that reads each distinct token once (see {@link readBoth}) and answers later
 * records from a direct-mapped cache of `slots` entries (a power of two): bounded memory, and a
 * token evicted by a colliding one is simply read again.
 */
export function createTokenChecker(legacy: TokenReader, dual: TokenReader, slots = 65_536): TokenChecker {
  if (!Number.isInteger(Math.log2(slots))) throw new RangeError(`slots must be a power of two, got ${slots}`);
  const mask = slots - 1;
  const cache: (CacheEntry | undefined)[] = new Array<CacheEntry | undefined>(slots);
  /**
   * Verdicts are few (valid, or one per reason and mismatch kind), so entries share one object
   * per verdict. Why: a replay's cache holds tens of thousands of tokens that are each hit a few
   * times far apart, so every object a hit touches is a likely memory miss; a shared verdict
   * stays in the processor's cache.
   */
  const verdicts = new Map<string, TokenVerdict>();
  const shared = (l: TokenReadResult, d: TokenReadResult): TokenVerdict => {
    const reason = d.ok ? undefined : d.reason;
    const mismatch = tokenMismatch(l, d);
    const key = `${d.ok}|${reason ?? ''}|${mismatch ?? ''}`;
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = Object.freeze({ valid: d.ok, reason, mismatch });
      verdicts.set(key, verdict);
    }
    return verdict;
  };
  return (token, nowMs) => {
    const slot = slotOf(token, mask);
    let entry = cache[slot];
    if (entry === undefined || entry.token !== token) {
      const { l, d } = readBoth(legacy, dual, token, BEFORE_ANY_EXPIRY);
      const cacheable = (l.ok || TIME_INDEPENDENT.has(l.reason)) && (d.ok || TIME_INDEPENDENT.has(d.reason));
      const validUntil = Math.min(l.ok ? l.claims.expiresAt : Infinity, d.ok ? d.claims.expiresAt : Infinity);
      entry = { token, verdict: cacheable ? shared(l, d) : null, validUntil };
      cache[slot] = entry;
    }
    if (entry.verdict !== null && nowMs < entry.validUntil) return entry.verdict;
    const { l, d } = readBoth(legacy, dual, token, nowMs);
    return shared(l, d);
  };
}
