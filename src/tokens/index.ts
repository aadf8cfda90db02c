/**
 * Session tokens: signed (HMAC-SHA256 with rotating key ids), versioned (v1 legacy levels,
 * v2 P scale) and normalized both ways over raw values 0-150, so old and new builds read each
 * other's tokens during a migration. Pure: keys arrive as a {@link Keyring}, time as `nowMs`.
 * See docs/tokens.md.
 */
export {
  createTokenReader,
  createTokenWriter,
  encodeClaims,
  MAX_FIELD_CHARS,
  MAX_TIME_MS,
  TOKEN_READ_MODES,
  TOKEN_WRITE_MODES,
  type SessionClaims,
  type SessionToIssue,
  type TokenCodecOptions,
  type TokenReader,
  type TokenReadMode,
  type TokenReadResult,
  type TokenVersion,
  type TokenWriteMode,
  type TokenWriter,
} from './codec.js';
export { KeyringError, MAX_TOKEN_CHARS, NormalizationError, TOKEN_REJECT_REASONS, TokenError, type TokenRejectReason } from './errors.js';
export { Keyring, KID_PATTERN, MIN_SECRET_BYTES, parseKeySpec, type TokenKey } from './keyring.js';
export {
  legacyLevelOfTier,
  lookupRaw,
  normalizationTable,
  normalizeRaw,
  rawForTier,
  reverseTable,
  schemeOfRaw,
  type Normalized,
  type NormalizationRow,
  type PriorityScheme,
  type ReverseRow,
} from './normalize.js';
