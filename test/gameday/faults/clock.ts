/**
 * A skewed clock, injected where the code takes time as a parameter: `prio serve
 * --token-clock-offset-ms` shifts the clock its session tokens are issued and judged by (the
 * process's own clock cannot be moved without moving the whole machine's). The token's own
 * times are the evidence: read back here, they show the skew was really in force.
 */
import { loadDomain } from '../../../src/config/index.js';
import { createTokenReader, parseKeySpec, type TokenReader } from '../../../src/tokens/index.js';
import { REHEARSAL_TOKEN_KEYS } from '../../../scripts/rollout/rehearsal.js';
import { serve, type ServeOptions, type Served } from '../fleet/gd-traffic.js';
import type { ScenarioContext } from '../scenario.js';

export interface Skewed extends Served {
  readonly offsetMs: number;
}

/** A `prio serve` whose token clock runs `offsetMs` ahead (negative: behind) of the wall clock. */
export async function skewedServe(ctx: ScenarioContext, offsetMs: number, o: ServeOptions = {}): Promise<Skewed> {
  const s = await serve(ctx, { ...o, args: [`--token-clock-offset-ms=${offsetMs}`, ...(o.args ?? [])] });
  ctx.log(`prio serve ${s.url} with its token clock ${offsetMs >= 0 ? '+' : ''}${offsetMs / 1000} s`);
  return { ...s, offsetMs };
}

/** The times a token carries, read with the keys that signed it (the rehearsal's by default); undefined if it does not verify. */
const readers = new Map<string, TokenReader>();
export function tokenTimes(token: string, keys: string = REHEARSAL_TOKEN_KEYS): { issuedAt: number; expiresAt: number } | undefined {
  let reader = readers.get(keys);
  if (reader === undefined) {
    reader = createTokenReader({ domain: loadDomain(), keyring: parseKeySpec(keys, 'game day keys'), mode: 'dual' });
    readers.set(keys, reader);
  }
  // Read at time 0, before any expiry, for the claims alone.
  const read = reader.read(token, 0);
  return read.ok ? { issuedAt: read.claims.issuedAt, expiresAt: read.claims.expiresAt } : undefined;
}

/** What the token expiry rule says a reader whose clock reads `judgeNowMs` does with a token expiring at `expiresAt`. */
export function expiryVerdict(expiresAt: number, judgeNowMs: number): 'accepted' | 'EXPIRED' {
  return judgeNowMs < expiresAt ? 'accepted' : 'EXPIRED';
}
