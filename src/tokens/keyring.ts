/**
 * The keys tokens are signed with. A keyring holds one or more `{kid, secret}` pairs: it signs
 * with the current kid and verifies a token under whichever held kid the token names, so keys
 * rotate without a flag day (add the new key, make it current, drop the old one once every
 * token it signed has expired).
 *
 * Keys are configuration, never code: `parseKeySpec` reads the `PRIO_TOKEN_KEYS` / key-file
 * text format, and the I/O edge (src/config/token-keys.ts) decides where that text comes from.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { ConfigError, type ConfigIssue } from '../validation/index.js';
import { KeyringError } from './errors.js';

export interface TokenKey {
  /** 1-32 characters of [A-Za-z0-9_-]: it travels inside the token. */
  readonly kid: string;
  /** At least {@link MIN_SECRET_BYTES} random bytes. */
  readonly secret: Uint8Array;
}

/** HMAC-SHA256 keys shorter than the hash output weaken it (RFC 2104 §3), so refuse them. */
export const MIN_SECRET_BYTES = 32;
export const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export class Keyring {
  readonly currentKid: string;
  readonly kids: readonly string[];
  readonly #keys: ReadonlyMap<string, KeyObject>;
  readonly #current: KeyObject;

  /** `currentKid` defaults to the first key's kid. Throws {@link KeyringError} on unusable keys. */
  constructor(keys: readonly TokenKey[], currentKid?: string) {
    const problems = keyProblems(keys);
    const current = currentKid ?? keys[0]?.kid;
    if (problems.length === 0 && (current === undefined || !keys.some((k) => k.kid === current))) {
      problems.push({ index: 0, message: `current kid "${String(current)}" is not among the keys` });
    }
    if (problems.length > 0) throw new KeyringError(problems);
    // Precomputing the KeyObjects keeps key import off the per-token path.
    this.#keys = new Map(keys.map((k) => [k.kid, createSecretKey(Uint8Array.from(k.secret))]));
    this.kids = Object.freeze(keys.map((k) => k.kid));
    this.currentKid = current as string;
    this.#current = this.#keys.get(this.currentKid) as KeyObject;
  }

  has(kid: string): boolean {
    return this.#keys.has(kid);
  }

  /** The HMAC key for `kid`, or undefined when this keyring does not hold it. */
  keyFor(kid: string): KeyObject | undefined {
    return this.#keys.get(kid);
  }

  /** The HMAC key new tokens are signed with. */
  signingKey(): KeyObject {
    return this.#current;
  }

  /** Secrets stay out of logs and JSON output. */
  toJSON(): { currentKid: string; kids: readonly string[] } {
    return { currentKid: this.currentKid, kids: this.kids };
  }
}

function keyProblems(keys: readonly TokenKey[]): { index: number; message: string }[] {
  const problems: { index: number; message: string }[] = [];
  if (keys.length === 0) problems.push({ index: 0, message: 'a keyring needs at least one key' });
  const seen = new Set<string>();
  keys.forEach((k, index) => {
    if (!KID_PATTERN.test(k.kid)) problems.push({ index, message: `kid ${JSON.stringify(k.kid)} must be 1-32 characters of A-Z a-z 0-9 _ -` });
    if (seen.has(k.kid)) problems.push({ index, message: `kid "${k.kid}" appears twice` });
    seen.add(k.kid);
    if (k.secret.length < MIN_SECRET_BYTES) {
      problems.push({ index, message: `secret for kid "${k.kid}" is ${k.secret.length} bytes; at least ${MIN_SECRET_BYTES} are required` });
    }
  });
  return problems;
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Parses the key specification text used by `PRIO_TOKEN_KEYS` and key files:
 * entries `kid:secret` separated by commas or newlines, the secret in base64 or base64url,
 * `#` starting a comment to the end of the line. The FIRST entry is the current (signing) key;
 * the others only verify. Problems are reported as a {@link ConfigError} with `source` as the
 * file and `/<entry index>` as the pointer.
 */
export function parseKeySpec(text: string, source: string): Keyring {
  const entries = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join(',')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const issues: ConfigIssue[] = [];
  const keys: TokenKey[] = [];
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const pointer = `/${i}`;
    if (colon <= 0) {
      issues.push({ file: source, pointer, message: 'expected kid:secret (secret in base64)' });
      return;
    }
    const kid = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!BASE64.test(encoded)) {
      issues.push({ file: source, pointer, message: `secret for kid "${kid}" is not base64` });
      return;
    }
    keys.push({ kid, secret: Buffer.from(encoded.replace(/-/g, '+').replace(/_/g, '/'), 'base64') });
  });
  if (entries.length === 0) issues.push({ file: source, pointer: '', message: 'no keys: expected kid:secret[,kid:secret...]' });
  if (issues.length === 0) {
    try {
      return new Keyring(keys);
    } catch (err) {
      if (!(err instanceof KeyringError)) throw err;
      for (const p of err.problems) issues.push({ file: source, pointer: `/${p.index}`, message: p.message });
    }
  }
  throw new ConfigError(issues);
}
