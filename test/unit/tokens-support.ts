/** Shared fixtures for the token tests: the shipped domain, fixed keys, and a forger for hand-built tokens. */
import { createHmac } from 'node:crypto';
import { loadDomain } from '../../src/config/index.js';
import { Keyring, type TokenKey } from '../../src/tokens/index.js';

export const domain = loadDomain();
export const { scale } = domain;

export function key(kid: string, fill: number): TokenKey {
  return { kid, secret: new Uint8Array(32).fill(fill) };
}

export const KEY_A = key('k2025a', 0xa1);
export const KEY_B = key('k2025b', 0xb2);
export const keyring = new Keyring([KEY_A]);

export const T0 = 1_700_000_000_000;
export const HOUR = 3_600_000;

export function tierNamed(name: string) {
  const t = scale.tier(name);
  if (t === undefined) throw new Error(`no tier ${name} in the shipped scale`);
  return t;
}

/** Fields of a hand-built payload; anything can be set wrong on purpose. */
export interface RawPayload {
  raw: number;
  schemeCode: number;
  issuedAt: number;
  expiresAt: number;
  strings: readonly string[];
  trailing?: Uint8Array;
}

export function payloadBytes(p: RawPayload): Buffer {
  const fixed = Buffer.alloc(14);
  fixed[0] = p.raw;
  fixed[1] = p.schemeCode;
  fixed.writeUIntBE(p.issuedAt, 2, 6);
  fixed.writeUIntBE(p.expiresAt, 8, 6);
  const parts: Buffer[] = [fixed];
  for (const s of p.strings) parts.push(Buffer.from([s.length]), Buffer.from(s, 'latin1'));
  if (p.trailing !== undefined) parts.push(Buffer.from(p.trailing));
  return Buffer.concat(parts);
}

/**
 * Builds and correctly signs a token from arbitrary parts, the way a key holder with a buggy
 * or hostile writer could: lets the tests reach the checks that run after the signature.
 */
export function forge(version: string, k: TokenKey, payload: Buffer): string {
  const input = `v${version}.${k.kid}.${payload.toString('base64url')}`;
  return `${input}.${createHmac('sha256', k.secret).update(input).digest('base64url')}`;
}

export const validPayload: RawPayload = {
  raw: 75,
  schemeCode: 1,
  issuedAt: T0,
  expiresAt: T0 + HOUR,
  strings: ['sess-1', 'acct-1', 'ON_DEMAND'],
};
