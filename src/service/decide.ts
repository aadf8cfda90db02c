/**
 * How `prio serve` ranks one request under one configuration snapshot: which mapping decides,
 * whether the session's token keeps its earlier ranking, and which token goes back. Pure: the
 * snapshot, the token codecs, the time and the session id for a new session are passed in.
 * The rules are written out in docs/service.md ("Ranking").
 */
import type { ConfigSnapshot } from '../appconfig/index.js';
import type { LegacyLevel, Tier } from '../catalog/index.js';
import type { Flags } from '../migration/index.js';
import { FailClosedError, type CompiledRuleSet, type Outcome, type RequestAttributes } from '../rules/index.js';
import {
  createTokenReader,
  createTokenWriter,
  TokenError,
  type Keyring,
  type TokenReader,
  type TokenReadMode,
  type TokenRejectReason,
  type TokenWriteMode,
  type TokenWriter,
} from '../tokens/index.js';

/** Why a presented session token did not decide the ranking. */
export type SessionTokenRejection = TokenRejectReason | 'ACCOUNT_MISMATCH' | 'CLASSIFICATION_MISMATCH';

export type MappingName = 'legacy' | 'tiered';

/** A request as the service sees it: the attributes the rules read, all strings filled in. */
export interface ServiceRequest extends RequestAttributes {
  readonly accountId: string;
  readonly modelId: string;
  readonly region: string;
}

export interface RankInput {
  readonly request: ServiceRequest;
  /** The token the client handed back, if any. */
  readonly sessionToken?: string | undefined;
  /** Session id for a token issued to a new session (the caller generates or takes it from the client). */
  readonly newSessionId: string;
  readonly nowMs: number;
}

/** The other mapping's answer, computed for observation only (priorityScheme dual or serviceTierMode observed). */
export type ObservedRanking = { readonly ok: true; readonly mapping: MappingName; readonly tier: Tier; readonly qos: number } | { readonly ok: false; readonly mapping: MappingName; readonly code: string };

export interface Ranked {
  readonly ok: true;
  /** The tier the dispatch loop queues the request at (its `rank` is the core's tier index). */
  readonly tier: Tier;
  readonly legacyLevel: LegacyLevel;
  readonly qos: number;
  readonly preemptable: boolean;
  /** The mapping in force for this request. */
  readonly mapping: MappingName;
  /** `token` when a valid session token kept the session's earlier tier, else `rules`. */
  readonly source: 'token' | 'rules';
  /** The rule of the mapping in force that matched (it still sets QoS and preemptable under a token). */
  readonly ruleId: string;
  /** The token to hand back; absent only when the session could not be encoded (see `tokenIssueError`). */
  readonly sessionToken: string | undefined;
  readonly sessionId: string;
  readonly tokenRejected: SessionTokenRejection | undefined;
  readonly tokenIssueError: string | undefined;
  readonly observed: ObservedRanking | undefined;
  /**
   * The priority as the request log records it: the legacy level when the legacy mapping is in
   * force (a legacy baseline compares levels), the tier name otherwise.
   */
  readonly loggedPriority: number | string;
}

export interface FailedClosed {
  readonly ok: false;
  readonly error: FailClosedError;
}

export type Ranking = Ranked | FailedClosed;

/** The token reader and writer a snapshot's flags call for. */
export interface SessionCodecs {
  readonly reader: TokenReader;
  readonly writer: TokenWriter;
}

export const TOKEN_READ_MODE_OF: Readonly<Record<Flags['tokenReadMode'], TokenReadMode>> = { v1: 'legacy', dual: 'dual', v2: 'v2' };
export const TOKEN_WRITE_MODE_OF: Readonly<Record<Flags['tokenWriteMode'], TokenWriteMode>> = { v1: 'legacy', v2: 'v2' };

/** Which mapping ranks under these flags: the tiered one once service tiers are enforced or the scheme is tiered. */
export function rankingMapping(flags: Flags): MappingName {
  return flags.serviceTierMode === 'enforced' || flags.priorityScheme === 'tiered' ? 'tiered' : 'legacy';
}

/** Whether the mapping not in force is evaluated too, for observation. */
export function observesOtherMapping(flags: Flags): boolean {
  return flags.priorityScheme === 'dual' || flags.serviceTierMode === 'observed';
}

/**
 * Makes the codecs for one snapshot. Memoised per snapshot and keyring by {@link codecCache},
 * so a request costs no allocation here.
 */
export function sessionCodecs(snapshot: ConfigSnapshot, keyring: Keyring): SessionCodecs {
  const domain = snapshot.legacy.domain;
  return {
    reader: createTokenReader({ domain, keyring, mode: TOKEN_READ_MODE_OF[snapshot.flags.tokenReadMode] }),
    writer: createTokenWriter({ domain, keyring, mode: TOKEN_WRITE_MODE_OF[snapshot.flags.tokenWriteMode] }),
  };
}

/** One codec pair per snapshot (a snapshot is immutable, so its codecs never change). */
export function codecCache(keyring: Keyring): (snapshot: ConfigSnapshot) => SessionCodecs {
  const cache = new WeakMap<ConfigSnapshot, SessionCodecs>();
  return (snapshot) => {
    let codecs = cache.get(snapshot);
    if (codecs === undefined) {
      codecs = sessionCodecs(snapshot, keyring);
      cache.set(snapshot, codecs);
    }
    return codecs;
  };
}

function evaluate(ruleSet: CompiledRuleSet, request: ServiceRequest): Outcome | FailClosedError {
  try {
    return ruleSet.evaluate(request);
  } catch (err) {
    if (err instanceof FailClosedError) return err;
    throw err;
  }
}

export interface RankOptions {
  /** Lifetime of a token issued to a new session. */
  readonly sessionTtlMs: number;
}

/**
 * Ranks one request under one snapshot.
 *
 * 1. The mapping in force evaluates the request; a fail-closed error ends here (the caller
 *    answers 400 naming the value): a token never vouches for attributes outside the catalog.
 * 2. A presented token that the read mode accepts, that verifies, and that belongs to the same
 *    account and classification keeps the session's tier (its first ranking wins, whichever
 *    build wrote it). QoS and preemptable still come from the rule, which the token does not carry.
 * 3. Any other token is counted by its reason and the request is ranked fresh, in every read
 *    mode: an unverified token can never raise a priority, and refusing the request instead
 *    would turn a key rotation or a rollout step into an outage.
 * 4. The token handed back: a kept token is returned as it came (re-encoding a v2 token as v1
 *    would lose P90, P25 and P5), except that a v1 token is upgraded to v2 when the writer is
 *    v2 (lossless, same session and expiry). A fresh ranking gets a new token in the write mode.
 */
export function rank(snapshot: ConfigSnapshot, codecs: SessionCodecs, input: RankInput, options: RankOptions): Ranking {
  const { flags } = snapshot;
  const { request, nowMs } = input;
  const mapping = rankingMapping(flags);
  const inForce = mapping === 'tiered' ? snapshot.tiered : snapshot.legacy;
  const outcome = evaluate(inForce, request);
  if (outcome instanceof FailClosedError) return { ok: false, error: outcome };

  let observed: ObservedRanking | undefined;
  if (observesOtherMapping(flags)) {
    const otherName: MappingName = mapping === 'tiered' ? 'legacy' : 'tiered';
    const other = evaluate(mapping === 'tiered' ? snapshot.legacy : snapshot.tiered, request);
    observed = other instanceof FailClosedError ? { ok: false, mapping: otherName, code: other.code } : { ok: true, mapping: otherName, tier: other.tier, qos: other.qos };
  }

  let tier = outcome.tier;
  let legacyLevel: LegacyLevel = outcome.legacyLevel ?? outcome.tier.legacyLevel;
  let source: 'token' | 'rules' = 'rules';
  let tokenRejected: SessionTokenRejection | undefined;
  let sessionToken: string | undefined;
  let sessionId = input.newSessionId;
  let tokenIssueError: string | undefined;

  const presented = input.sessionToken;
  if (presented !== undefined && presented !== '') {
    const read = codecs.reader.read(presented, nowMs);
    if (!read.ok) tokenRejected = read.reason;
    else if (read.claims.accountId !== request.accountId) tokenRejected = 'ACCOUNT_MISMATCH';
    else if (read.claims.classification !== request.classification) tokenRejected = 'CLASSIFICATION_MISMATCH';
    else {
      tier = read.tier;
      legacyLevel = read.legacyLevel;
      source = 'token';
      sessionId = read.claims.sessionId;
      sessionToken = presented;
      if (read.claims.version === 1 && codecs.writer.mode === 'v2') {
        try {
          sessionToken = codecs.writer.issue({ sessionId, accountId: request.accountId, classification: request.classification, tier, issuedAt: nowMs, ttlMs: read.claims.expiresAt - nowMs });
        } catch (err) {
          // Keep the v1 token: every reader is dual while writers are v2, so it still reads.
          if (!(err instanceof TokenError)) throw err;
        }
      }
    }
  }
  if (source === 'rules') {
    try {
      sessionToken = codecs.writer.issue({ sessionId, accountId: request.accountId, classification: request.classification, tier, issuedAt: nowMs, ttlMs: options.sessionTtlMs });
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      tokenIssueError = err.message;
    }
  }

  return {
    ok: true,
    tier,
    legacyLevel,
    qos: outcome.qos,
    preemptable: outcome.preemptable,
    mapping,
    source,
    ruleId: outcome.ruleId,
    sessionToken,
    sessionId,
    tokenRejected,
    tokenIssueError,
    observed,
    loggedPriority: mapping === 'legacy' ? legacyLevel : tier.name,
  };
}
