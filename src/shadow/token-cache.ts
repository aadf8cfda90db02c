/**
 * A session's token rides on every request of the session, so a replay sees the same token
 * string thousands of times; verifying its HMAC each time would cap the replay's rate. This
 * wrapper verifies a token once and answers later reads from a bounded cache, re-applying the
 * only time-dependent check (expiry) against each record's own time.
 *
 * What is cached is the reader's verdict at a time before any token expires: an accepted token
 * (whose `expiresAt` then decides EXPIRED per read) or a rejection that does not depend on time
 * (malformed, oversized, bad signature, unknown kid, unsupported version). Rejections the reader
 * only reaches after its expiry check are never cached: those tokens are read afresh each time.
 * A property test holds the wrapper to the plain reader's answers. Pure.
 */
import type { TokenReader, TokenReadResult } from '../tokens/index.js';

const TIME_INDEPENDENT = new Set(['MALFORMED', 'OVERSIZED', 'BAD_SIGNATURE', 'UNKNOWN_KID', 'UNSUPPORTED_VERSION']);
/** A time before every token's expiry (tokens carry expiresAt > issuedAt >= 0). */
const BEFORE_ANY_EXPIRY = -1;

export function memoizeTokenReader(reader: TokenReader, capacity = 65_536): TokenReader {
  /** Cached verdicts; `null` marks a token that must be read afresh each time. */
  let cache = new Map<string, TokenReadResult | null>();
  return {
    mode: reader.mode,
    read(token: string, nowMs: number): TokenReadResult {
      let verdict = cache.get(token);
      if (verdict === undefined) {
        const timeless = reader.read(token, BEFORE_ANY_EXPIRY);
        verdict = timeless.ok || TIME_INDEPENDENT.has(timeless.reason) ? timeless : null;
        // Bounded memory: when full, start over (sessions are short-lived, so old entries go cold).
        if (cache.size >= capacity) cache = new Map();
        cache.set(token, verdict);
      }
      if (verdict === null) return reader.read(token, nowMs);
      if (verdict.ok && !(nowMs < verdict.claims.expiresAt)) return reader.read(token, nowMs);
      return verdict;
    },
  };
}
