/**
 * `prio rules diff`: the shadow comparison with no traffic. Every catalog attribute is finite,
 * so the whole input space is enumerated and both rule sets evaluated on it; outcomes are
 * compared on the common P scale (legacy levels mapped through priorities.json).
 */
import { compileModel, type CompiledRuleSet } from './compile.js';
import { interpret } from './interpret.js';
import { FailClosedError, FREE_ATTRIBUTES, type FreeAttribute, type Outcome, type RequestAttributes } from './model.js';
import { catalogCells, sampleOfGlob, UNLISTED } from './space.js';

/** One side's result for an input, normalized onto the P scale. */
export interface NormalizedOutcome {
  /** e.g. `P50 qos 1`, `P10 qos 10 preemptable`, `fail-closed NO_MATCHING_RULE`. */
  readonly label: string;
  readonly tier: string | null;
  /** Tier value (higher runs first); null for a failure. */
  readonly value: number | null;
  readonly qos: number | null;
  readonly preemptable: boolean | null;
  readonly ruleId: string | null;
  readonly legacyLevel: number | null;
}

export type Direction = 'raised' | 'lowered' | 'same-tier' | 'now-fails' | 'now-succeeds' | 'both-fail';

export interface DiffRow {
  readonly from: string;
  readonly to: string;
  readonly direction: Direction;
  readonly count: number;
  readonly example: RequestAttributes;
  readonly exampleRules: { readonly old: string | null; readonly new: string | null };
}

export interface RuleSetRef {
  readonly name: string;
  readonly scheme: CompiledRuleSet['scheme'];
  readonly mode: CompiledRuleSet['mode'];
  readonly file: string;
}

export interface StaticDiff {
  readonly old: RuleSetRef;
  readonly new: RuleSetRef;
  /** Inputs enumerated: catalog combinations × the free-attribute values the rule sets name. */
  readonly inputs: number;
  readonly same: number;
  readonly changed: number;
  /** Disagreements grouped by (old outcome, new outcome), largest first. */
  readonly rows: readonly DiffRow[];
}

/** Evaluates `request` with the plain interpreter (no fail-closed counting) and normalizes the result. */
export function normalize(rs: CompiledRuleSet, request: RequestAttributes): NormalizedOutcome {
  return normalizeWith((r) => interpret(rs.model, rs.domain.catalog, rs.mode, r), request);
}

function normalizeWith(evaluate: (r: RequestAttributes) => Outcome, request: RequestAttributes): NormalizedOutcome {
  let o: Outcome;
  try {
    o = evaluate(request);
  } catch (err) {
    if (!(err instanceof FailClosedError)) throw err;
    return { label: `fail-closed ${err.code}`, tier: null, value: null, qos: null, preemptable: null, ruleId: null, legacyLevel: null };
  }
  const label = `${o.tier.name} qos ${o.qos}${o.preemptable ? ' preemptable' : ''}`;
  return { label, tier: o.tier.name, value: o.tier.value, qos: o.qos, preemptable: o.preemptable, ruleId: o.ruleId, legacyLevel: o.legacyLevel };
}

function direction(a: NormalizedOutcome, b: NormalizedOutcome): Direction {
  if (a.value === null) return b.value === null ? 'both-fail' : 'now-succeeds';
  if (b.value === null) return 'now-fails';
  return b.value > a.value ? 'raised' : b.value < a.value ? 'lowered' : 'same-tier';
}

/** Representative values of one free attribute: missing, one no rule names, and every value (or glob sample) a rule names. */
function freeValues(sets: readonly CompiledRuleSet[], attr: FreeAttribute): (string | null)[] {
  const values = new Set<string>();
  let constrained = false;
  for (const rs of sets) {
    for (const rule of rs.model.rules) {
      const c = rule.when[attr];
      if (c === undefined) continue;
      constrained = true;
      for (const v of c.values) values.add(v);
      for (const g of c.globs) {
        const sample = sampleOfGlob(g.pattern, g.test);
        if (sample !== null) values.add(sample);
      }
    }
  }
  // An attribute no rule looks at cannot change any outcome: one value (missing) stands for all.
  return constrained ? [null, UNLISTED, ...[...values].sort()] : [null];
}

function ref(rs: CompiledRuleSet): RuleSetRef {
  return { name: rs.name, scheme: rs.scheme, mode: rs.mode, file: rs.model.file };
}

export function diffRuleSets(oldSet: CompiledRuleSet, newSet: CompiledRuleSet): StaticDiff {
  const free = FREE_ATTRIBUTES.map((a) => freeValues([oldSet, newSet], a));
  const rows = new Map<string, { from: string; to: string; direction: Direction; count: number; example: RequestAttributes; exampleRules: DiffRow['exampleRules'] }>();
  // Private evaluators: the enumeration must not move the callers' fail-closed counters.
  const evaluateOld = compileModel(oldSet.model, oldSet.domain, oldSet.mode).evaluate;
  const evaluateNew = compileModel(newSet.model, newSet.domain, newSet.mode).evaluate;
  let inputs = 0;
  let same = 0;
  for (const cell of catalogCells(oldSet.domain.catalog)) {
    for (const modelId of free[0] ?? [null]) {
      for (const region of free[1] ?? [null]) {
        for (const accountId of free[2] ?? [null]) {
          const request: RequestAttributes = {
            ...(cell.serviceTier === null ? {} : { serviceTier: cell.serviceTier }),
            classification: cell.classification,
            ...(cell.requestType === null ? {} : { requestType: cell.requestType }),
            ...(modelId === null ? {} : { modelId }),
            ...(region === null ? {} : { region }),
            ...(accountId === null ? {} : { accountId }),
          };
          inputs++;
          const a = normalizeWith(evaluateOld, request);
          const b = normalizeWith(evaluateNew, request);
          if (a.label === b.label) {
            same++;
            continue;
          }
          const key = `${a.label}\u0000${b.label}`;
          const row = rows.get(key);
          if (row !== undefined) row.count++;
          else rows.set(key, { from: a.label, to: b.label, direction: direction(a, b), count: 1, example: request, exampleRules: { old: a.ruleId, new: b.ruleId } });
        }
      }
    }
  }
  const sorted = [...rows.values()].sort((x, y) => y.count - x.count || x.from.localeCompare(y.from) || x.to.localeCompare(y.to));
  return { old: ref(oldSet), new: ref(newSet), inputs, same, changed: inputs - same, rows: sorted };
}
