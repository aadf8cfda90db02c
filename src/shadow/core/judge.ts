/**
 * Judges one valid record: evaluates it under the baseline and the candidate rule sets, puts
 * both outcomes on the P scale, classifies the difference, checks its session token with a
 * legacy and a dual reader, checks the baseline against what production observed, and counts
 * all of it into an aggregate. Fail-closed rule errors are outcomes, never crashes.
 * Pure: rule sets and token readers are passed in. Allocates only for new breakdown keys and
 * for the rare record that enters the sample.
 */
import type { Domain, Tier } from '../../catalog/index.js';
import { FailClosedError, type Outcome, type RequestAttributes } from '../../rules/index.js';
import { countIn, increment, OUTCOME, OUTCOME_KINDS, type SampledRecord, type ShadowAggregate, type SideError, type SideOutcome } from './aggregate.js';
import { recordTimeMs, type RequestRecord } from './record.js';
import { offer, seededHash, wouldAccept } from './reservoir.js';
import type { TokenChecker } from './token-cache.js';

/** What the replay needs of a rule set (a `CompiledRuleSet` fits). */
export interface RuleSetPort {
  readonly name: string;
  evaluate(request: RequestAttributes): Outcome;
}

export interface JudgeDeps {
  readonly domain: Domain;
  readonly baseline: RuleSetPort;
  readonly candidate: RuleSetPort;
  /** Legacy-vs-dual token checks (see `createTokenChecker`); omit to skip them (tokens are then counted as `tokens.unchecked`). */
  readonly tokens?: TokenChecker;
}

export type Judge = (record: RequestRecord, into: ShadowAggregate) => void;

const NONE = '(none)';
/** Breakdown key for a value outside the catalog: one bucket, so bogus values cannot grow memory. */
export const UNKNOWN_VALUE = '(unknown)';

export function createJudge(deps: JudgeDeps): Judge {
  const { baseline, candidate, tokens } = deps;
  const scale = deps.domain.scale;
  const errorIndex = scale.tiers.length;
  const catalog = deps.domain.catalog;
  const known = {
    serviceTiers: new Set(catalog.serviceTiers),
    classifications: new Set(catalog.classifications),
    requestTypes: new Set(catalog.requestTypes),
  };
  const width = errorIndex + 1;

  function evaluateSide(ruleSet: RuleSetPort, record: RequestRecord): Outcome | FailClosedError {
    try {
      return ruleSet.evaluate(record);
    } catch (err) {
      // Only the typed fail-closed error is an outcome; anything else is a bug and must surface.
      if (err instanceof FailClosedError) return err;
      throw err;
    }
  }

  function checkTokens(token: string, record: RequestRecord, agg: ShadowAggregate): void {
    if (tokens === undefined) {
      agg.tokens.unchecked += 1;
      return;
    }
    agg.tokens.checked += 1;
    // Relative to the record's own time, so the same log gives the same report on any day.
    const verdict = tokens(token, recordTimeMs(record));
    if (verdict.valid) agg.tokens.valid += 1;
    else increment(agg.tokens.invalid, verdict.reason ?? 'UNKNOWN');
    if (verdict.mismatch !== undefined) increment(agg.tokens.mismatch, verdict.mismatch);
  }

  function checkFidelity(observed: NonNullable<RequestRecord['observed']>, base: Outcome | FailClosedError, agg: ShadowAggregate): void {
    const f = agg.fidelity;
    f.checked += 1;
    if (base instanceof FailClosedError) {
      f.baselineError += 1;
      increment(f.mismatches, `${observedPriorityLabel(observed.priority, scale)}>error`);
      return;
    }
    const p = observed.priority;
    // Compared without building labels: this runs for every record that carries `observed`.
    const priorityOk =
      typeof p === 'number'
        ? p <= 3
          ? p === (base.legacyLevel ?? base.tier.legacyLevel)
          : tierOfRaw(p, scale) === base.tier
        : p === base.tier.name;
    const qosOk = observed.qos === undefined || observed.qos === base.qos;
    if (priorityOk && qosOk) {
      f.matched += 1;
      return;
    }
    if (!priorityOk) f.priorityMismatch += 1;
    if (!qosOk) f.qosMismatch += 1;
    const baseLabel = typeof p === 'number' && p <= 3 ? `L${base.legacyLevel ?? base.tier.legacyLevel}` : base.tier.name;
    increment(f.mismatches, priorityOk ? `qos ${observed.qos}>${base.qos}` : `${observedPriorityLabel(p, scale)}>${baseLabel}`);
  }

  return function judge(record, agg) {
    const base = evaluateSide(baseline, record);
    const cand = evaluateSide(candidate, record);
    const baseFailed = base instanceof FailClosedError;
    const candFailed = cand instanceof FailClosedError;
    let kind: number;
    if (baseFailed || candFailed) {
      kind = baseFailed && candFailed ? OUTCOME.bothError : baseFailed ? OUTCOME.baselineError : OUTCOME.candidateError;
      if (baseFailed) increment(agg.failClosed, `baseline|${base.code}|${base.attribute ?? NONE}`);
      if (candFailed) increment(agg.failClosed, `candidate|${cand.code}|${cand.attribute ?? NONE}`);
    } else {
      const tierChanged = base.tier !== cand.tier;
      const qosChanged = base.qos !== cand.qos;
      const preemptChanged = base.preemptable !== cand.preemptable;
      kind = tierChanged || qosChanged || preemptChanged ? OUTCOME.changed : OUTCOME.same;
      if (tierChanged) {
        agg.changes.priority += 1;
        if (cand.tier.rank < base.tier.rank) agg.changes.upgrades += 1;
        else {
          agg.changes.downgrades += 1;
          increment(agg.downgradesByTier, base.tier.name);
        }
        if ((base.legacyLevel ?? base.tier.legacyLevel) === cand.tier.legacyLevel) agg.changes.withinLegacyLevel += 1;
      }
      if (qosChanged) agg.changes.qos += 1;
      if (preemptChanged) agg.changes.preemptable += 1;
    }
    agg.outcomes[kind] = (agg.outcomes[kind] ?? 0) + 1;
    const row = baseFailed ? errorIndex : (base as Outcome).tier.rank;
    const col = candFailed ? errorIndex : (cand as Outcome).tier.rank;
    const cell = row * width + col;
    agg.confusion[cell] = (agg.confusion[cell] ?? 0) + 1;

    const b = agg.breakdowns;
    // Rule sets fail closed on values outside the catalog, so only a refused record can carry
    // one: catalog attributes are checked against the catalog on that (rare) path alone.
    const refused = kind !== OUTCOME.same && kind !== OUTCOME.changed;
    countIn(b.serviceTier, catalogKey(record.serviceTier, known.serviceTiers, refused), kind);
    countIn(b.classification, catalogKey(record.classification, known.classifications, refused), kind);
    countIn(b.requestType, catalogKey(record.requestType, known.requestTypes, refused), kind);
    countIn(b.account, record.accountId, kind);
    countIn(b.model, record.modelId, kind);

    const token = record.sessionToken;
    if (token === undefined || token === null) agg.tokens.absent += 1;
    else checkTokens(token, record, agg);
    if (record.observed !== undefined && record.observed !== null) checkFidelity(record.observed, base, agg);

    if (kind !== OUTCOME.same) {
      const rank = seededHash(agg.sample.seed, record.requestId);
      if (wouldAccept(agg.sample, rank)) {
        const sampled = sampleOf(record, OUTCOME_KINDS[kind] ?? 'changed', base, cand);
        offer(agg.sample, rank, JSON.stringify(sampled), sampled);
      }
    }
  };
}

function catalogKey(value: string | null | undefined, catalogValues: ReadonlySet<string>, check: boolean): string {
  if (value === undefined || value === null) return NONE;
  return !check || catalogValues.has(value) ? value : UNKNOWN_VALUE;
}

/**
 * The observed priority as a comparable label: `L<n>` for a legacy level (0-3), the tier name
 * for a P-scale raw value or a tier name. Legacy levels are compared as levels because several
 * tiers share one level and production only ever recorded the level.
 */
export function observedPriorityLabel(priority: number | string, scale: Domain['scale']): string {
  if (typeof priority === 'string') return priority;
  if (priority <= 3) return `L${priority}`;
  return tierOfRaw(priority, scale)?.name ?? `raw ${priority}`;
}

/** The tier whose band holds raw P-scale value `raw` (4-150). */
function tierOfRaw(raw: number, scale: Domain['scale']): Tier | undefined {
  let tier: Tier | undefined;
  for (const band of scale.bands) if (band.from <= raw) tier = band.tier;
  return tier;
}

function side(outcome: Outcome | FailClosedError): SideOutcome | SideError {
  if (outcome instanceof FailClosedError) {
    return {
      error: outcome.code,
      attribute: outcome.attribute ?? null,
      value: outcome.value === undefined || outcome.value === null ? null : String(outcome.value),
    };
  }
  return { ruleId: outcome.ruleId, tier: outcome.tier.name, legacyLevel: outcome.legacyLevel, qos: outcome.qos, preemptable: outcome.preemptable };
}

function sampleOf(record: RequestRecord, outcome: SampledRecord['outcome'], base: Outcome | FailClosedError, cand: Outcome | FailClosedError): SampledRecord {
  return {
    requestId: record.requestId,
    timestamp: record.timestamp,
    accountId: record.accountId,
    modelId: record.modelId,
    region: record.region,
    classification: record.classification,
    serviceTier: record.serviceTier ?? null,
    requestType: record.requestType ?? null,
    outcome,
    baseline: side(base),
    candidate: side(cand),
  };
}
