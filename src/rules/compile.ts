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
import type { Condition, FailClosedError, Outcome, RequestAttributes, RuleSetModel, Scheme, ServiceTierMode } from './model.js';

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

/** A table under construction: rules are placed cell by cell, in evaluation order. */
class TableBuilder {
  readonly direct: (Outcome | null)[];
  readonly start: Int32Array;
  readonly cand: number[] = [];
  constructor(
    private readonly cells: number,
    private readonly needsRuntime: readonly boolean[],
    private readonly outcomes: readonly Outcome[],
  ) {
    this.direct = new Array<Outcome | null>(cells).fill(null);
    this.start = new Int32Array(cells + 1);
  }
  open(cell: number): void {
    this.start[cell] = this.cand.length;
  }
  /** Places rule `i` in `cell`; true once the cell is complete (a rule with no runtime condition ends it). */
  place(cell: number, i: number): boolean {
    if (!this.needsRuntime[i]) {
      if (this.cand.length === this.start[cell]) this.direct[cell] = this.outcomes[i] as Outcome;
      else this.cand.push(i);
      return true;
    }
    this.cand.push(i);
    return false;
  }
  done(): Table {
    this.start[this.cells] = this.cand.length;
    return { direct: this.direct, start: this.start, cand: Int32Array.from(this.cand) };
  }
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
  // table is then merged from its own rules and the agnostic ones, keeping thousands of overrides linear.
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

  // Which rules each cell's catalog attributes match, worked out once: the tables below are
  // then put together from short per-cell lists instead of testing every rule in every cell of
  // every account's table (which made hundreds of overrides cost milliseconds per compile).
  const matchesCell = new Uint8Array(rules.length * cells);
  // Each condition is tested once per value it can see; the cells then combine the answers.
  const stOk = new Uint8Array(nS);
  const clOk = new Uint8Array(nC);
  const rtOk = new Uint8Array(nR);
  const perCell = new Int32Array(cells);
  rules.forEach((r, i) => {
    for (let s = 0; s < nS; s++) stOk[s] = conditionMatches(r.when.serviceTier, s === nS - 1 ? null : (serviceTiers[s] as string)) ? 1 : 0;
    for (let c = 0; c < nC; c++) clOk[c] = conditionMatches(r.when.classification, classifications[c] as string) ? 1 : 0;
    for (let t = 0; t < nR; t++) rtOk[t] = conditionMatches(r.when.requestType, t === nR - 1 ? null : (requestTypes[t] as string)) ? 1 : 0;
    for (let s = 0; s < nS; s++) {
      // Mode folded in: the ignored routing attribute is seen as missing.
      const ignoreServiceTier = mode === 'request-type' || (mode === 'service-tier-with-fallback' && s === nS - 1);
      if (stOk[ignoreServiceTier ? nS - 1 : s] === 0) continue;
      for (let c = 0; c < nC; c++) {
        if (clOk[c] === 0) continue;
        for (let t = 0; t < nR; t++) {
          if (rtOk[ignoreServiceTier ? t : nR - 1] === 0) continue;
          const cell = (s * nC + c) * nR + t;
          matchesCell[i * cells + cell] = 1;
          perCell[cell] = (perCell[cell] as number) + 1;
        }
      }
    }
  });
  // The cells' lists side by side in one array (rules ascending within each): fewer, larger allocations.
  const cellStart = new Int32Array(cells + 1);
  for (let cell = 0; cell < cells; cell++) cellStart[cell + 1] = (cellStart[cell] as number) + (perCell[cell] as number);
  const cellList = new Int32Array(cellStart[cells] as number);
  const fill = cellStart.slice(0, cells);
  for (let i = 0; i < rules.length; i++) {
    const row = i * cells;
    for (let cell = 0; cell < cells; cell++) {
      if (matchesCell[row + cell] !== 1) continue;
      // Not `cellList[(fill[cell] as number)++]`: Stryker reprints that without the parentheses
      // (`fill[cell] as number++`), which no TypeScript parser accepts, so the file could not be
      // mutation-tested at all.
      const at = fill[cell] as number;
      cellList[at] = i;
      fill[cell] = at + 1;
    }
  }

  /** The table over the rules `eligible` marks, each cell walked through its matching rules. */
  const tableOf = (eligible: Uint8Array): Table => {
    const b = new TableBuilder(cells, needsRuntime, outcomes);
    for (let cell = 0; cell < cells; cell++) {
      b.open(cell);
      const end = cellStart[cell + 1] as number;
      for (let k = cellStart[cell] as number; k < end; k++) {
        const i = cellList[k] as number;
        if (eligible[i] === 1 && b.place(cell, i)) break;
      }
    }
    return b.done();
  };
  const marks = (positions: readonly number[]): Uint8Array => {
    const m = new Uint8Array(rules.length);
    for (const i of positions) m[i] = 1;
    return m;
  };

  const missingAccount = tableOf(marks(forMissing));
  // Per cell, the agnostic rules up to and including the first that ends the cell: what every
  // account's table shares, and by itself the table of accounts no rule names.
  const agnosticMark = marks(agnostic);
  const agnosticCell: Int32Array[] = new Array<Int32Array>(cells);
  for (let cell = 0; cell < cells; cell++) {
    const end = cellStart[cell + 1] as number;
    const shared: number[] = [];
    for (let k = cellStart[cell] as number; k < end; k++) {
      const i = cellList[k] as number;
      if (agnosticMark[i] === 0) continue;
      shared.push(i);
      if (!needsRuntime[i]) break;
    }
    agnosticCell[cell] = Int32Array.from(shared);
  }
  const unlistedAccount = tableOf(agnosticMark);
  /** An account's table: its own rules matching each cell merged, in evaluation order, into the shared list. */
  const accountTable = (own: readonly number[]): Table => {
    const b = new TableBuilder(cells, needsRuntime, outcomes);
    for (let cell = 0; cell < cells; cell++) {
      b.open(cell);
      const shared = agnosticCell[cell] as Int32Array;
      let a = 0;
      let o = 0;
      for (;;) {
        while (o < own.length && matchesCell[(own[o] as number) * cells + cell] === 0) o++;
        const nextOwn = o < own.length ? (own[o] as number) : Number.MAX_SAFE_INTEGER;
        const nextShared = a < shared.length ? (shared[a] as number) : Number.MAX_SAFE_INTEGER;
        if (nextOwn === Number.MAX_SAFE_INTEGER && nextShared === Number.MAX_SAFE_INTEGER) break;
        let i: number;
        if (nextOwn < nextShared) {
          i = nextOwn;
          o++;
        } else {
          i = nextShared;
          a++;
        }
        if (b.place(cell, i)) break;
      }
    }
    return b.done();
  };
  const byAccount = new Map<string, Table>();
  for (const [account, own] of named) byAccount.set(account, accountTable(own));

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
