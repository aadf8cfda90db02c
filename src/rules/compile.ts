/**
 * The compiled evaluator. Every catalog attribute is finite, so the rule set is resolved at
 * compile time into a decision table over (serviceTier|missing) × classification ×
 * (requestType|missing), one table per account context (missing, unlisted, and each account a
 * rule names — found through a Map). The mode is folded into the cells. A cell holds either
 * its outcome directly, or the short list of rules that still depend on modelId/region (in
 * evaluation order, ending at the first unconditional one). Evaluation is a handful of Map
 * look-ups and array reads: no allocation, and nothing thrown but {@link FailClosedError}.
 */
import type { Domain } from '../catalog/index.js';
import { conditionMatches, explainRequest, noMatchingRule, unknownValue, type Explanation } from './interpret.js';
import type { Condition, FailClosedError, Outcome, RequestAttributes, RuleDef, RuleSetModel, Scheme, ServiceTierMode } from './model.js';

export interface CompiledRuleSet {
  readonly name: string;
  readonly scheme: Scheme;
  readonly mode: ServiceTierMode;
  /** Throws {@link FailClosedError}, nothing else; returns the rule's shared frozen outcome. */
  evaluate(request: RequestAttributes): Outcome;
  /** Which rules were considered, which matched and why the winner won. Does not count failures. */
  explain(request: RequestAttributes): Explanation;
  /** Failed-closed evaluations so far: a counter an alarm can watch. */
  readonly failClosedCount: number;
  /** The validated rules in evaluation order (for lint, diff and tooling). */
  readonly model: RuleSetModel;
  readonly domain: Domain;
}

type Matcher = ((value: string | null) => boolean) | null;

interface Table {
  /** Per cell: the outcome when the cell's first candidate needs no runtime check, else null. */
  readonly direct: readonly (Outcome | null)[];
  /** Candidates of cell c are cand[start[c]] .. cand[start[c+1]-1] (rule positions). */
  readonly start: Int32Array;
  readonly cand: Int32Array;
}

/** A loop-only matcher (no closures created per call) for one free-attribute condition. */
function compileMatcher(c: Condition | undefined): Matcher {
  if (c === undefined) return null;
  const { values, missing, globs } = c;
  const tests = globs.map((g) => g.test);
  if (tests.length === 0) return (v) => (v === null ? missing : values.has(v));
  return (v) => {
    if (v === null) return missing;
    if (values.has(v)) return true;
    for (let i = 0; i < tests.length; i++) if ((tests[i] as (s: string) => boolean)(v)) return true;
    return false;
  };
}

/** Merges two ascending lists of rule positions into one. */
function mergeAscending(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && (a[i] as number) < (b[j] as number))) out.push(a[i++] as number);
    else out.push(b[j++] as number);
  }
  return out;
}

export function compileModel(model: RuleSetModel, domain: Domain, mode: ServiceTierMode): CompiledRuleSet {
  const { catalog } = domain;
  const rules = model.rules;
  const serviceTiers = catalog.serviceTiers;
  const classifications = catalog.classifications;
  const requestTypes = catalog.requestTypes;
  const nS = serviceTiers.length + 1; // last index: missing
  const nC = classifications.length;
  const nR = requestTypes.length + 1; // last index: missing
  const stIndex = new Map(serviceTiers.map((v, i) => [v, i]));
  const clIndex = new Map(classifications.map((v, i) => [v, i]));
  const rtIndex = new Map(requestTypes.map((v, i) => [v, i]));
  const cells = nS * nC * nR;

  const outcomes: Outcome[] = rules.map((r) => r.outcome);
  const modelMatch: Matcher[] = rules.map((r) => compileMatcher(r.when.modelId));
  const regionMatch: Matcher[] = rules.map((r) => compileMatcher(r.when.region));
  const needsRuntime = rules.map((r) => r.when.modelId !== undefined || r.when.region !== undefined);

  // Rules any account matches, and per named account the rules that name it: each account's
  // table is then built from (agnostic ∪ its own) rules, keeping thousands of overrides linear.
  const agnostic: number[] = [];
  const named = new Map<string, number[]>();
  const forMissing: number[] = [];
  rules.forEach((r, i) => {
    const c = r.when.accountId;
    if (c === undefined) {
      agnostic.push(i);
      forMissing.push(i);
      return;
    }
    if (c.missing) forMissing.push(i);
    for (const a of c.values) {
      const list = named.get(a);
      if (list === undefined) named.set(a, [i]);
      else list.push(i);
    }
  });

  /** Builds the decision table from `eligible` rule positions (ascending = evaluation order). */
  const buildTable = (eligible: readonly number[]): Table => {
    const direct: (Outcome | null)[] = Array.from({ length: cells }, () => null);
    const start = new Int32Array(cells + 1);
    const cand: number[] = [];
    for (let s = 0; s < nS; s++) {
      for (let c = 0; c < nC; c++) {
        for (let t = 0; t < nR; t++) {
          const cell = (s * nC + c) * nR + t;
          start[cell] = cand.length;
          const serviceTier = s === nS - 1 ? null : (serviceTiers[s] as string);
          const requestType = t === nR - 1 ? null : (requestTypes[t] as string);
          // Mode folded in: the ignored routing attribute is seen as missing.
          const ignoreServiceTier = mode === 'request-type' || (mode === 'service-tier-with-fallback' && serviceTier === null);
          const seenServiceTier = ignoreServiceTier ? null : serviceTier;
          const seenRequestType = ignoreServiceTier ? requestType : null;
          const classification = classifications[c] as string;
          for (const i of eligible) {
            const r = rules[i] as RuleDef;
            if (!conditionMatches(r.when.serviceTier, seenServiceTier) || !conditionMatches(r.when.classification, classification) || !conditionMatches(r.when.requestType, seenRequestType)) continue;
            if (!needsRuntime[i]) {
              if (cand.length === start[cell]) direct[cell] = outcomes[i] as Outcome;
              else cand.push(i);
              break;
            }
            cand.push(i);
          }
        }
      }
    }
    start[cells] = cand.length;
    return { direct, start, cand: Int32Array.from(cand) };
  };

  const missingAccount = buildTable(forMissing);
  const unlistedAccount = buildTable(agnostic);
  const byAccount = new Map<string, Table>();
  for (const [account, own] of named) byAccount.set(account, buildTable(mergeAscending(agnostic, own)));

  let failClosedCount = 0;
  const fail = (err: FailClosedError): never => {
    failClosedCount++;
    throw err;
  };
  const unknown = (attribute: string, value: unknown, known?: readonly string[]): never => fail(unknownValue(attribute, value, known));

  const evaluate = (request: RequestAttributes): Outcome => {
    if (typeof request !== 'object' || request === null) return unknown('request', request);
    const serviceTier: unknown = request.serviceTier;
    let s = nS - 1;
    if (serviceTier !== null && serviceTier !== undefined) {
      const i = typeof serviceTier === 'string' ? stIndex.get(serviceTier) : undefined;
      if (i === undefined) return unknown('serviceTier', serviceTier, serviceTiers);
      s = i;
    }
    const classification: unknown = request.classification;
    const c = typeof classification === 'string' ? clIndex.get(classification) : undefined;
    if (c === undefined) return unknown('classification', classification, classifications);
    const requestType: unknown = request.requestType;
    let t = nR - 1;
    if (requestType !== null && requestType !== undefined) {
      const i = typeof requestType === 'string' ? rtIndex.get(requestType) : undefined;
      if (i === undefined) return unknown('requestType', requestType, requestTypes);
      t = i;
    }
    const modelId: unknown = request.modelId ?? null;
    if (modelId !== null && typeof modelId !== 'string') return unknown('modelId', modelId);
    const region: unknown = request.region ?? null;
    if (region !== null && typeof region !== 'string') return unknown('region', region);
    const accountId: unknown = request.accountId ?? null;
    let table: Table;
    if (accountId === null) table = missingAccount;
    else if (typeof accountId !== 'string') return unknown('accountId', accountId);
    else table = byAccount.get(accountId) ?? unlistedAccount;

    const cell = (s * nC + c) * nR + t;
    const hit = table.direct[cell];
    if (hit !== null && hit !== undefined) return hit;
    const end = table.start[cell + 1] as number;
    for (let k = table.start[cell] as number; k < end; k++) {
      const i = table.cand[k] as number;
      const m = modelMatch[i];
      if (m !== null && m !== undefined && !m(modelId as string | null)) continue;
      const g = regionMatch[i];
      if (g !== null && g !== undefined && !g(region as string | null)) continue;
      return outcomes[i] as Outcome;
    }
    return fail(noMatchingRule(model.name, request));
  };

  return Object.freeze({
    name: model.name,
    scheme: model.scheme,
    mode,
    model,
    domain,
    evaluate,
    explain: (request: RequestAttributes) => explainRequest(model, catalog, mode, request),
    get failClosedCount() {
      return failClosedCount;
    },
  });
}
