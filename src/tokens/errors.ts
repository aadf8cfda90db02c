/** Typed errors for session tokens: every rejection carries a reason code a caller can branch on. */

/**
 * Why a token (or a value destined for one) was refused.
 *
 * Read side: MALFORMED (not the token grammar, truncated, bad payload layout), OVERSIZED
 * (longer than {@link MAX_TOKEN_CHARS}), BAD_SIGNATURE, UNKNOWN_KID (signed with a key this
 * keyring does not hold), EXPIRED, UNSUPPORTED_VERSION (a version this reader's mode does not
 * accept), UNKNOWN_CLASSIFICATION (outside the catalog), BAD_PRIORITY (raw value out of range
 * or inconsistent with the version/scheme).
 * Write side only: INVALID_CLAIMS (an id that cannot be encoded, a bad time or TTL).
 */
export type TokenRejectReason =
  | 'MALFORMED'
  | 'OVERSIZED'
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_KID'
  | 'EXPIRED'
  | 'UNSUPPORTED_VERSION'
  | 'UNKNOWN_CLASSIFICATION'
  | 'BAD_PRIORITY'
  | 'INVALID_CLAIMS';

export const TOKEN_REJECT_REASONS: readonly TokenRejectReason[] = [
  'MALFORMED',
  'OVERSIZED',
  'BAD_SIGNATURE',
  'UNKNOWN_KID',
  'EXPIRED',
  'UNSUPPORTED_VERSION',
  'UNKNOWN_CLASSIFICATION',
  'BAD_PRIORITY',
  'INVALID_CLAIMS',
];

/** Longest token string any reader looks at; longer input is OVERSIZED before any parsing. */
export const MAX_TOKEN_CHARS = 2048;

export class TokenError extends Error {
  override readonly name: string = 'TokenError';
  constructor(
    readonly reason: TokenRejectReason,
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
}

/** A raw priority value that is not an integer in the scale's raw range (0-150). */
export class NormalizationError extends TokenError {
  override readonly name = 'NormalizationError';
  constructor(
    readonly value: unknown,
    message: string,
  ) {
    super('BAD_PRIORITY', message);
  }
}

/** A keyring built from unusable keys (bad kid, short or empty secret, duplicates). */
export class KeyringError extends Error {
  override readonly name = 'KeyringError';
  constructor(readonly problems: readonly { readonly index: number; readonly message: string }[]) {
    super(problems.map((p) => `key ${p.index}: ${p.message}`).join('\n'));
  }
}
