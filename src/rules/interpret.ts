/**
 * The plain reference interpreter: request checks, mode masking and a linear scan over the
 * rules in evaluation order. Deliberately simple — the compiled evaluator is property-tested
 * against it, and `explain` is built on it so explanations never drift from the definition.
 */
import type { Catalog } from '../catalog/index.js';
import { FailClosedError, type AttributeName, type Condition, type Outcome, type RequestAttributes, type RuleDef, type RuleSetModel, type ServiceTierMode } from './model.js';

/** A request whose values passed the catalog checks; every attribute is a string or null. */
export interface CheckedRequest {
  readonly serviceTier: string | null;
  readonly classification: string;
  readonly requestType: string | null;
  readonly modelId: string | null;
  readonly region: string | null;
  readonly accountId: string | null;
}

/** The fail-closed error for a value outside the catalog (or of the wrong type). */
export function unknownValue(attribute: string, value: unknown, known?: readonly string[]): FailClosedError {
  const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value) ?? String(value);
  const detail = attribute === 'request' ? 'must be an object' : known === undefined ? 'must be a string or null' : `is not in the catalog (${known.join(', ')})`;
  return new FailClosedError('UNKNOWN_VALUE', `unknown ${attribute} ${shown}: ${detail}; rejected (fail-closed)`, attribute, value);
}

export function noMatchingRule(ruleSet: string, r: { serviceTier?: unknown; classification?: unknown; requestType?: unknown }): FailClosedError {
  return new FailClosedError(
    'NO_MATCHING_RULE',
    `no rule of "${ruleSet}" matches serviceTier=${String(r.serviceTier ?? null)} classification=${String(r.classification)} requestType=${String(r.requestType ?? null)}; rejected (fail-closed)`,
  );
}

/** Checks every attribute (in a fixed order, so both evaluators name the same one first). */
export function checkRequest(request: RequestAttributes, catalog: Catalog): CheckedRequest {
  if (typeof request !== 'object' || request === null) throw unknownValue('request', request);
  const catalogValue = (attribute: AttributeName, known: readonly string[], nullable: boolean): string | null => {
    const v: unknown = request[attribute];
    if (nullable && (v === null || v === undefined)) return null;
    if (typeof v !== 'string' || !known.includes(v)) throw unknownValue(attribute, v, known);
    return v;
  };
  const freeValue = (attribute: AttributeName): string | null => {
    const v: unknown = request[attribute];
    if (v === null || v === undefined) return null;
    if (typeof v !== 'string') throw unknownValue(attribute, v);
    return v;
  };
  return {
    serviceTier: catalogValue('serviceTier', catalog.serviceTiers, true),
    classification: catalogValue('classification', catalog.classifications, false) as string,
    requestType: catalogValue('requestType', catalog.requestTypes, true),
    modelId: freeValue('modelId'),
    region: freeValue('region'),
    accountId: freeValue('accountId'),
  };
}

/** The routing attribute the mode ignores for this request (it is then treated as missing). */
function ignoredAttribute(mode: ServiceTierMode, serviceTier: string | null): 'serviceTier' | 'requestType' {
  if (mode === 'service-tier') return 'requestType';
  if (mode === 'request-type') return 'serviceTier';
  return serviceTier === null ? 'serviceTier' : 'requestType';
}

/** The request as the rules see it under `mode`. */
function applyMode(r: CheckedRequest, mode: ServiceTierMode): CheckedRequest {
  const ignored = ignoredAttribute(mode, r.serviceTier);
  return ignored === 'serviceTier' ? { ...r, serviceTier: null } : { ...r, requestType: null };
}

export function conditionMatches(c: Condition | undefined, value: string | null): boolean {
  if (c === undefined) return true;
  if (value === null) return c.missing;
  return c.values.has(value) || c.globs.some((g) => g.test(value));
}

const ORDER: readonly AttributeName[] = ['accountId', 'serviceTier', 'classification', 'requestType', 'modelId', 'region'];

/** The first condition of `rule` the (masked) request fails, or null when the rule matches. */
function firstMismatch(rule: RuleDef, r: CheckedRequest): AttributeName | null {
  for (const a of ORDER) if (!conditionMatches(rule.when[a], r[a])) return a;
  return null;
}

/** Reference evaluation: the first rule in evaluation order whose every condition holds. */
export function interpret(model: RuleSetModel, catalog: Catalog, mode: ServiceTierMode, request: RequestAttributes): Outcome {
  const checked = checkRequest(request, catalog);
  const seen = applyMode(checked, mode);
  for (const rule of model.rules) if (firstMismatch(rule, seen) === null) return rule.outcome;
  throw noMatchingRule(model.name, checked);
}

export interface ConsideredRule {
  readonly ruleId: string;
  /** null for account overrides, which win over every rule. */
  readonly precedence: number | null;
  readonly accountOverride: boolean;
  readonly matched: boolean;
  /** Why it matched or which condition failed. */
  readonly reason: string;
}

export interface Explanation {
  readonly ruleSet: string;
  readonly mode: ServiceTierMode;
  /** The request as the rules saw it; null when it failed the catalog checks. */
  readonly seen: CheckedRequest | null;
  /** The routing attribute the mode ignored (treated as missing). */
  readonly ignored: 'serviceTier' | 'requestType' | null;
  /** Every rule in evaluation order (this account's overrides first, then precedence high to low, then file order). */
  readonly considered: readonly ConsideredRule[];
  readonly winner: string | null;
  readonly outcome: Outcome | null;
  readonly why: string;
  /** Set when evaluation fails closed; `explain` reports it instead of throwing. */
  readonly error: { readonly code: FailClosedError['code']; readonly attribute?: string; readonly value?: unknown; readonly message: string } | null;
}

function describe(c: Condition): string {
  const parts = [...c.values].map((v) => JSON.stringify(v));
  for (const g of c.globs) parts.push(`glob ${JSON.stringify(g.pattern)}`);
  if (c.missing) parts.push('missing');
  return parts.length === 1 ? (parts[0] as string) : `one of ${parts.join(', ')}`;
}

/** Which rules were considered, which matched and why the winner won. Never throws for a request. */
export function explainRequest(model: RuleSetModel, catalog: Catalog, mode: ServiceTierMode, request: RequestAttributes): Explanation {
  let checked: CheckedRequest;
  try {
    checked = checkRequest(request, catalog);
  } catch (err) {
    if (!(err instanceof FailClosedError)) throw err;
    return { ruleSet: model.name, mode, seen: null, ignored: null, considered: [], winner: null, outcome: null, why: err.message, error: errorOf(err) };
  }
  const ignored = ignoredAttribute(mode, checked.serviceTier);
  const seen = applyMode(checked, mode);
  // Overrides of other accounts are never looked at (the account is a hash look-up), so they
  // are left out rather than listed as hundreds of non-matches.
  const relevant = model.rules.filter((rule) => !rule.isOverride || conditionMatches(rule.when.accountId, seen.accountId));
  const considered: ConsideredRule[] = relevant.map((rule) => {
    const miss = firstMismatch(rule, seen);
    const reason =
      miss === null
        ? 'all conditions hold'
        : `${miss} is ${seen[miss] === null ? (miss === ignored ? `ignored in ${mode} mode (treated as missing)` : 'missing') : JSON.stringify(seen[miss])}, rule wants ${describe(rule.when[miss] as Condition)}`;
    return { ruleId: rule.id, precedence: rule.isOverride ? null : rule.precedence, accountOverride: rule.isOverride, matched: miss === null, reason };
  });
  const winnerIndex = considered.findIndex((c) => c.matched);
  if (winnerIndex < 0) {
    const err = noMatchingRule(model.name, checked);
    return { ruleSet: model.name, mode, seen, ignored, considered, winner: null, outcome: null, why: err.message, error: errorOf(err) };
  }
  const winner = relevant[winnerIndex] as RuleDef;
  const matched = considered.filter((c) => c.matched);
  const tied = relevant.filter((r, i) => considered[i]?.matched === true && r !== winner && r.precedence === winner.precedence);
  let why: string;
  if (winner.isOverride) why = `account override for account ${String(seen.accountId)}: overrides win over every rule`;
  else if (matched.length === 1) why = `the only matching rule (precedence ${winner.precedence})`;
  else if (tied.length === 0) why = `highest precedence (${winner.precedence}) of ${matched.length} matching rules`;
  else why = `precedence ${winner.precedence}, tied with ${tied.map((t) => t.id).join(', ')}; the earlier rule in the file wins`;
  return { ruleSet: model.name, mode, seen, ignored, considered, winner: winner.id, outcome: winner.outcome, why, error: null };
}

function errorOf(err: FailClosedError): NonNullable<Explanation['error']> {
  return { code: err.code, ...(err.attribute === undefined ? {} : { attribute: err.attribute, value: err.value }), message: err.message };
}
