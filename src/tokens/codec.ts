/**
 * The token wire format, its writer and its reader.
 *
 *     v<version>.<kid>.<payload>.<signature>
 *
 * - `version` is 1 (legacy: raw priority is a legacy level 0-3) or 2 (raw priority on the P
 *   scale, or a legacy level when the session only ever had one);
 * - `kid` names the keyring key that signed it;
 * - `payload` is base64url (no padding) of a fixed-order binary record (layout below);
 * - `signature` is base64url of HMAC-SHA256 over the ASCII text `v<version>.<kid>.<payload>`,
 *   so the version and kid are signed too (no downgrade, no kid swapping).
 *
 * Payload layout, big-endian:
 *
 *     offset 0   u8   raw priority (0-150)
 *     offset 1   u8   scheme: 0 legacy, 1 p-scale
 *     offset 2   u48  issuedAt, epoch ms
 *     offset 8   u48  expiresAt, epoch ms
 *     offset 14  then sessionId, accountId, classification, each as u8 length + that many
 *                bytes of printable ASCII (0x21-0x7E)
 *
 * A fixed binary layout keeps decode to a handful of reads (no JSON parse on the hot path),
 * and the whole token stays well under the 2 KiB limit for any encodable claims.
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Domain, LegacyLevel, Tier } from '../catalog/index.js';
import { MAX_TOKEN_CHARS, TokenError, type TokenRejectReason } from './errors.js';
import type { Keyring } from './keyring.js';
import { lookupRaw, rawForTier, schemeOfRaw, type PriorityScheme } from './normalize.js';

export type TokenVersion = 1 | 2;
/**
 * Which versions a reader accepts: `legacy` only v1 (an old build), `dual` v1 and v2 (every
 * build during the migration), `v2` only v2 (after the migration, once every v1 token has expired).
 */
export type TokenReadMode = 'legacy' | 'dual' | 'v2';
/** Which version a writer produces: `legacy` v1 with the tier's legacy level, `v2` the tier's value. */
export type TokenWriteMode = 'legacy' | 'v2';

export const TOKEN_READ_MODES: readonly TokenReadMode[] = ['legacy', 'dual', 'v2'];
export const TOKEN_WRITE_MODES: readonly TokenWriteMode[] = ['legacy', 'v2'];

export interface SessionClaims {
  readonly version: TokenVersion;
  readonly sessionId: string;
  readonly accountId: string;
  readonly classification: string;
  /** 0-3 for the legacy scheme, 4-150 for the P scale. */
  readonly rawPriority: number;
  readonly scheme: PriorityScheme;
  /** Epoch milliseconds. */
  readonly issuedAt: number;
  /** Epoch milliseconds; the token is expired from this instant on. */
  readonly expiresAt: number;
}

export type TokenReadResult =
  | { readonly ok: true; readonly claims: SessionClaims; readonly tier: Tier; readonly legacyLevel: LegacyLevel }
  | { readonly ok: false; readonly reason: TokenRejectReason; readonly message: string };

/** What a scheduler knows about a session when it issues its token. */
export interface SessionToIssue {
  readonly sessionId: string;
  readonly accountId: string;
  readonly classification: string;
  readonly tier: Tier;
  /** Epoch milliseconds. */
  readonly issuedAt: number;
  readonly ttlMs: number;
}

export interface TokenWriter {
  readonly mode: TokenWriteMode;
  /** Throws {@link TokenError} (INVALID_CLAIMS, UNKNOWN_CLASSIFICATION, BAD_PRIORITY) for a session that cannot be encoded. */
  issue(session: SessionToIssue): string;
}

export interface TokenReader {
  readonly mode: TokenReadMode;
  /** Verifies and decodes; never throws: every problem is a `{ok: false, reason}` result. */
  read(token: string, nowMs: number): TokenReadResult;
}

export interface TokenCodecOptions<M> {
  readonly domain: Domain;
  readonly keyring: Keyring;
  readonly mode: M;
}

/** The largest epoch-ms value a u48 holds (year 10889). */
export const MAX_TIME_MS = 2 ** 48 - 1;
/** Longest id / classification a token carries. */
export const MAX_FIELD_CHARS = 255;
const FIXED_BYTES = 14;
const SIGNATURE_CHARS = 43; // base64url of 32 bytes, unpadded
const SCHEME_CODES: readonly PriorityScheme[] = ['legacy', 'p-scale'];

// ---------------------------------------------------------------- character classes

const B64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** base64url value of each ASCII code, -1 for anything else. */
const B64URL_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < B64URL_ALPHABET.length; i++) B64URL_VALUE[B64URL_ALPHABET.charCodeAt(i)] = i;

function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// ---------------------------------------------------------------- encoding

function sign(key: KeyObject, signingInput: string): string {
  return createHmac('sha256', key).update(signingInput, 'utf8').digest('base64url');
}

function checkField(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD_CHARS || !isPrintableAscii(value)) {
    throw new TokenError('INVALID_CLAIMS', `${name} must be 1-${MAX_FIELD_CHARS} printable ASCII characters (no spaces), got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkTime(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIME_MS) {
    throw new TokenError('INVALID_CLAIMS', `${name} must be an integer epoch-ms between 0 and ${MAX_TIME_MS}, got ${String(value)}`);
  }
  return value;
}

/**
 * Encodes and signs claims with the keyring's current key. Checks the claims are consistent
 * (v1 carries a legacy level; the scheme matches the raw value's range; expiry after issue)
 * so a writer can never produce a token a reader would refuse for its content.
 */
export function encodeClaims(claims: SessionClaims, keyring: Keyring): string {
  const { version, rawPriority: raw, scheme } = claims;
  if (version !== 1 && version !== 2) throw new TokenError('UNSUPPORTED_VERSION', `cannot write token version ${String(version)}`);
  if (!Number.isInteger(raw) || raw < 0 || raw > 150) throw new TokenError('BAD_PRIORITY', `raw priority ${String(raw)} is not an integer 0-150`);
  if (scheme !== schemeOfRaw(raw)) throw new TokenError('BAD_PRIORITY', `raw priority ${raw} belongs to the ${schemeOfRaw(raw)} scheme, not ${String(scheme)}`);
  if (version === 1 && scheme !== 'legacy') throw new TokenError('BAD_PRIORITY', `a v1 token carries a legacy level 0-3, not ${raw}`);
  const fields = [
    checkField('sessionId', claims.sessionId),
    checkField('accountId', claims.accountId),
    checkField('classification', claims.classification),
  ];
  const issuedAt = checkTime('issuedAt', claims.issuedAt);
  const expiresAt = checkTime('expiresAt', claims.expiresAt);
  if (expiresAt <= issuedAt) throw new TokenError('INVALID_CLAIMS', `expiresAt ${expiresAt} must be after issuedAt ${issuedAt}`);

  const payload = Buffer.allocUnsafe(FIXED_BYTES + fields.reduce((n, f) => n + 1 + f.length, 0));
  payload[0] = raw;
  payload[1] = scheme === 'legacy' ? 0 : 1;
  payload.writeUIntBE(issuedAt, 2, 6);
  payload.writeUIntBE(expiresAt, 8, 6);
  let at = FIXED_BYTES;
  for (const f of fields) {
    payload[at] = f.length;
    at += 1 + payload.write(f, at + 1, 'latin1');
  }
  const signingInput = `v${version}.${keyring.currentKid}.${payload.toString('base64url')}`;
  return `${signingInput}.${sign(keyring.signingKey(), signingInput)}`;
}

export function createTokenWriter(options: TokenCodecOptions<TokenWriteMode>): TokenWriter {
  const { domain, keyring, mode } = options;
  if (mode !== 'legacy' && mode !== 'v2') throw new TokenError('UNSUPPORTED_VERSION', `unknown write mode ${JSON.stringify(mode)}`);
  const classifications = new Set(domain.catalog.classifications);
  const version: TokenVersion = mode === 'legacy' ? 1 : 2;
  const scheme: PriorityScheme = mode === 'legacy' ? 'legacy' : 'p-scale';
  return {
    mode,
    issue(session) {
      if (!classifications.has(session.classification)) {
        throw new TokenError('UNKNOWN_CLASSIFICATION', `classification ${JSON.stringify(session.classification)} is not in the catalog`);
      }
      const tier = domain.scale.tier(session.tier?.name);
      if (tier === undefined || tier.value !== session.tier.value) {
        throw new TokenError('BAD_PRIORITY', `tier ${JSON.stringify(session.tier?.name)} is not on this priority scale`);
      }
      const issuedAt = checkTime('issuedAt', session.issuedAt);
      const ttlMs = session.ttlMs;
      if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new TokenError('INVALID_CLAIMS', `ttlMs must be a positive integer, got ${String(ttlMs)}`);
      return encodeClaims(
        {
          version,
          sessionId: session.sessionId,
          accountId: session.accountId,
          classification: session.classification,
          rawPriority: rawForTier(tier, scheme),
          scheme,
          issuedAt,
          expiresAt: checkTime('expiresAt (issuedAt + ttlMs)', issuedAt + ttlMs),
        },
        keyring,
      );
    },
  };
}

// ---------------------------------------------------------------- decoding

function reject(reason: TokenRejectReason, message: string): TokenReadResult {
  return { ok: false, reason, message };
}

/**
 * Decodes the 43-character base64url signature starting at `from` into `out` (32 bytes).
 * Strict where Node's decoder is lenient: only the base64url alphabet (no `+`, `/`, `=`), and
 * the last character's two spare bits must be zero, so exactly one string spells each MAC.
 */
function decodeSignature(token: string, from: number, out: Buffer): boolean {
  let bad = 0;
  let o = 0;
  let i = from;
  for (let g = 0; g < 10; g++, i += 4) {
    const a = sextet(token, i);
    const b = sextet(token, i + 1);
    const c = sextet(token, i + 2);
    const d = sextet(token, i + 3);
    bad |= a | b | c | d;
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  const a = sextet(token, i);
  const b = sextet(token, i + 1);
  const c = sextet(token, i + 2);
  bad |= a | b | c | (c & 3 ? -1 : 0);
  out[o++] = (a << 2) | (b >> 4);
  out[o] = ((b & 15) << 4) | (c >> 2);
  return bad >= 0;
}

/** The 6-bit value of the base64url character at `i`, or -1. */
function sextet(token: string, i: number): number {
  const code = token.charCodeAt(i);
  return code < 128 ? (B64URL_VALUE[code] as number) : -1;
}

const NOT_A_TOKEN = 'not a token: expected v<version>.<kid>.<payload>.<signature> in base64url';

export function createTokenReader(options: TokenCodecOptions<TokenReadMode>): TokenReader {
  const { domain, keyring, mode } = options;
  if (!TOKEN_READ_MODES.includes(mode)) throw new TokenError('UNSUPPORTED_VERSION', `unknown read mode ${JSON.stringify(mode)}`);
  const classifications = new Set(domain.catalog.classifications);
  const scale = domain.scale;
  // Reused for every read: decoding the signature allocates nothing (read is synchronous).
  const given = Buffer.alloc(32);
  const acceptsV1 = mode !== 'v2';
  const acceptsV2 = mode !== 'legacy';

  function read(token: string, nowMs: number): TokenReadResult {
    if (typeof token !== 'string') return reject('MALFORMED', `token must be a string, got ${typeof token}`);
    const length = token.length;
    if (length > MAX_TOKEN_CHARS) return reject('OVERSIZED', `token is ${length} characters; the limit is ${MAX_TOKEN_CHARS}`);

    // Exactly three dots, every part non-empty. The characters of the version, kid and payload
    // need no separate check: they are signed, and the MAC input is their UTF-8 encoding, which
    // matches the writer's ASCII bytes only if they are exactly the writer's characters.
    const d1 = token.indexOf('.');
    const d2 = token.indexOf('.', d1 + 1);
    const d3 = token.indexOf('.', d2 + 1);
    if (d1 < 0 || d2 < 0 || d3 < 0 || token.indexOf('.', d3 + 1) >= 0 || d2 === d1 + 1 || d3 === d2 + 1) {
      return reject('MALFORMED', NOT_A_TOKEN);
    }

    // Version: "v" then decimal digits without a leading zero.
    if (token.charCodeAt(0) !== 0x76 || d1 < 2 || (d1 > 2 && token.charCodeAt(1) === 0x30)) return reject('MALFORMED', NOT_A_TOKEN);
    let version = 0;
    for (let i = 1; i < d1; i++) {
      const digit = token.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) return reject('MALFORMED', NOT_A_TOKEN);
      version = version * 10 + digit;
    }
    if (version !== 1 && version !== 2) return reject('UNSUPPORTED_VERSION', `token version ${version} is not supported`);
    if (version === 2 && !acceptsV2) return reject('UNSUPPORTED_VERSION', 'token version 2 is not accepted by a legacy-mode reader');
    if (version === 1 && !acceptsV1) return reject('UNSUPPORTED_VERSION', 'token version 1 is no longer accepted by a v2-mode reader');

    const kid = token.slice(d1 + 1, d2);
    const key = keyring.keyFor(kid);
    // The kid is attacker-controlled text: quoted and cut short so it cannot flood or garble a log.
    if (key === undefined) return reject('UNKNOWN_KID', `no key with kid ${JSON.stringify(kid.slice(0, 32))}${kid.length > 32 ? '…' : ''} in the keyring`);

    if (length - d3 - 1 !== SIGNATURE_CHARS || !decodeSignature(token, d3 + 1, given)) {
      return reject('BAD_SIGNATURE', 'signature is not a canonical base64url HMAC-SHA256');
    }
    const expected = createHmac('sha256', key).update(token.slice(0, d3), 'utf8').digest();
    if (!timingSafeEqual(expected, given)) return reject('BAD_SIGNATURE', 'signature does not match');

    // From here on the bytes are authentic: a layout error means a writer bug, not an attacker.
    const p = Buffer.from(token.slice(d2 + 1, d3), 'base64url');
    if (p.length < FIXED_BYTES + 3) return reject('MALFORMED', 'payload is truncated');
    const raw = p[0] as number;
    const schemeCode = p[1] as number;
    const issuedAt = p.readUIntBE(2, 6);
    const expiresAt = p.readUIntBE(8, 6);
    let at = FIXED_BYTES;
    const sidLen = p[at] as number;
    const sessionId = p.toString('latin1', at + 1, at + 1 + sidLen);
    at += 1 + sidLen;
    const accLen = p[at] ?? 0;
    const accountId = p.toString('latin1', at + 1, at + 1 + accLen);
    at += 1 + accLen;
    const clsLen = p[at] ?? 0;
    const classification = p.toString('latin1', at + 1, at + 1 + clsLen);
    at += 1 + clsLen;
    if (at !== p.length || sidLen === 0 || accLen === 0 || clsLen === 0 || schemeCode > 1) {
      return reject('MALFORMED', 'payload layout is invalid');
    }
    if (expiresAt <= issuedAt) return reject('MALFORMED', `expiresAt ${expiresAt} is not after issuedAt ${issuedAt}`);
    if (!(nowMs < expiresAt)) return reject('EXPIRED', `token expired at ${new Date(expiresAt).toISOString()}`);
    if (!classifications.has(classification)) {
      return reject('UNKNOWN_CLASSIFICATION', `classification ${JSON.stringify(classification)} is not in the catalog`);
    }
    const scheme = SCHEME_CODES[schemeCode] as PriorityScheme;
    const normalized = lookupRaw(scale, raw);
    if (normalized === undefined || scheme !== schemeOfRaw(raw) || (version === 1 && scheme !== 'legacy')) {
      return reject('BAD_PRIORITY', `raw priority ${raw} (${scheme}) is not valid in a v${version} token`);
    }
    return {
      ok: true,
      claims: { version, sessionId, accountId, classification, rawPriority: raw, scheme, issuedAt, expiresAt },
      tier: normalized.tier,
      legacyLevel: normalized.legacyLevel,
    };
  }

  return { mode, read };
}
