/**
 * `prio rules check`: everything wrong with a rule set that would otherwise surface only in
 * production — schema errors, unknown references, duplicate ids, rules that can never win,
 * equal-precedence rules that disagree on shared inputs, and inputs no rule covers.
 *
 * Why indexed: comparing every rule with every other is quadratic, and a rule set with tens of
 * thousands of account overrides took minutes. Rules are indexed by the values they name on
 * each free attribute (modelId, region, accountId), so a rule is only compared with the rules
 * that could cover it or share a request with it on the attribute that narrows them most — an
 * override with the one or two other rules naming its account. The index only ever leaves out
 * pairs whose comparison is certain to fail, and candidates are visited in evaluation order,
 * so the findings are exactly those of the all-pairs search (a property test holds it to that).
 */
import type { Domain } from '../catalog/index.js';
import type { Condition, FreeAttribute, RuleDef, RuleSetModel, ServiceTierMode } from './model.js';
import { FREE_ATTRIBUTES } from './model.js';
import { ambiguousFinding, coversFree, coversVariant, FREE_VARIANTS, gapFinding, intersectsFree, limitGaps, masked, matchesCell, sameOutcome, unreachableFinding, type Finding } from './overlap.js';
import { parseRuleSet } from './parse.js';
import { catalogCells, type CatalogCell } from './space.js';

export type { Finding, FindingKind } from './overlap.js';
export { describeOutcome } from './overlap.js';

export interface LintOptions {
  /** Lint as evaluated in this mode instead of the file's own. */
  readonly mode?: ServiceTierMode;
  /** Gap findings listed one by one before the rest are summed up in one finding. Default 20. */
  readonly maxGaps?: number;
}

/** How much work a lint took: what keeps it near-linear in the number of rules. */
export interface LintStats {
  readonly rules: number;
  /**
   * Pairs of rules whose conditions were compared (shadowing plus ambiguity checks). The
   * all-pairs search compares up to n(n-1)/2 pairs for each; the index keeps this near n for
   * rule sets whose rules name distinct accounts, models or regions.
   */
  readonly pairComparisons: number;
}

export interface LintReport {
  readonly findings: Finding[];
  readonly stats: LintStats;
}

export function lintRuleSet(doc: unknown, file: string, domain: Domain, options: LintOptions = {}): Finding[] {
  return lintRuleSetReport(doc, file, domain, options).findings;
}

/** {@link lintRuleSet} with the statistics of the search. */
export function lintRuleSetReport(doc: unknown, file: string, domain: Domain, options: LintOptions = {}): LintReport {
  const { model, issues } = parseRuleSet(doc, file, domain);
  if (model === null) return { findings: issues.map((i) => ({ kind: i.kind, file: i.file, pointer: i.pointer, message: i.message })), stats: { rules: 0, pairComparisons: 0 } };
  return lintModel(model, domain, options.mode ?? model.declaredMode, options.maxGaps ?? 20);
}

/** Rule positions (ascending, i.e. evaluation order) grouped by what they say about one free attribute. */
interface AttributeIndex {
  /** No condition on the attribute: the rule accepts every value and missing. */
  readonly unconstrained: number[];
  /** A condition with globs (modelId only): matched against values at run time, so never filtered out. */
  readonly globbed: number[];
  /** A condition that accepts a request lacking the attribute. */
  readonly missing: number[];
  /** A condition listing the value. */
  readonly byValue: Map<string, number[]>;
}

const EMPTY: readonly number[] = [];

function indexAttribute(rules: readonly RuleDef[], attribute: FreeAttribute): AttributeIndex {
  const index: AttributeIndex = { unconstrained: [], globbed: [], missing: [], byValue: new Map() };
  rules.forEach((rule, i) => {
    const c = rule.when[attribute];
    if (c === undefined) {
      index.unconstrained.push(i);
      return;
    }
    if (c.globs.length > 0) index.globbed.push(i);
    if (c.missing) index.missing.push(i);
    for (const v of c.values) {
      const list = index.byValue.get(v);
      if (list === undefined) index.byValue.set(v, [i]);
      else list.push(i);
    }
  });
  return index;
}

/**
 * Lists whose union holds every rule `e` with `covers(e's condition, c)`: a rule without a
 * condition, one with globs (a `*` accepts all), and — for a condition listing values — the
 * rules that list its first value (every one of them must be accepted), or for one accepting
 * only a missing attribute, the rules that accept missing. Null: no narrowing on this attribute.
 */
function coverCandidates(index: AttributeIndex, c: Condition | undefined): (readonly number[])[] | null {
  if (c === undefined) return [index.unconstrained, index.globbed];
  const [first] = c.values;
  if (first !== undefined) return [index.unconstrained, index.globbed, index.byValue.get(first) ?? EMPTY];
  if (c.globs.length > 0) return [index.unconstrained, index.globbed];
  if (c.missing) return [index.unconstrained, index.globbed, index.missing];
  return null; // a condition accepting nothing is covered by anything
}

/**
 * Lists whose union holds every rule whose condition could share a value (or a missing
 * attribute) with `c`: unconstrained, globbed, listing one of its values, accepting missing
 * when it does. A condition with globs may share a value with any listed one: no narrowing.
 */
function overlapCandidates(index: AttributeIndex, c: Condition | undefined): (readonly number[])[] | null {
  if (c === undefined || c.globs.length > 0) return null;
  const lists: (readonly number[])[] = [index.unconstrained, index.globbed];
  for (const v of c.values) lists.push(index.byValue.get(v) ?? EMPTY);
  if (c.missing) lists.push(index.missing);
  return lists;
}

/**
 * The candidates of the most selective attribute, restricted to positions in [from, to), in
 * ascending order without repeats; null when no attribute narrows the search.
 */
function narrowest(indexes: readonly AttributeIndex[], rule: RuleDef, candidates: typeof coverCandidates, from: number, to: number): number[] | null {
  let best: (readonly number[])[] | null = null;
  let bestSize = Infinity;
  FREE_ATTRIBUTES.forEach((attribute, i) => {
    const lists = candidates(indexes[i] as AttributeIndex, rule.when[attribute]);
    if (lists === null) return;
    const size = lists.reduce((n, l) => n + l.length, 0);
    if (size < bestSize) {
      best = lists;
      bestSize = size;
    }
  });
  if (best === null) return null;
  const picked: number[] = [];
  for (const list of best as (readonly number[])[]) for (const p of list) if (p >= from && p < to) picked.push(p);
  picked.sort((x, y) => x - y);
  return picked.filter((p, k) => k === 0 || picked[k - 1] !== p);
}

/**
 * Which catalog cells each rule matches, as one row of 0/1 per cell. Rules with the same
 * catalog conditions share a row: a large override table has thousands of rules but a handful
 * of distinct (serviceTier, classification, requestType) conditions.
 */
function catalogMatches(rules: readonly RuleDef[], seenCells: readonly CatalogCell[]): { rowOf: Int32Array; rows: Uint8Array } {
  const rowOf = new Int32Array(rules.length);
  const rowByKey = new Map<string, number>();
  const distinct: RuleDef[] = [];
  const keyOf = (c: Condition | undefined) => (c === undefined ? '*' : `${[...c.values].join(',')}|${c.missing}`);
  rules.forEach((rule, r) => {
    const key = `${keyOf(rule.when.serviceTier)};${keyOf(rule.when.classification)};${keyOf(rule.when.requestType)}`;
    let row = rowByKey.get(key);
    if (row === undefined) {
      row = distinct.length;
      rowByKey.set(key, row);
      distinct.push(rule);
    }
    rowOf[r] = row;
  });
  const width = seenCells.length;
  const rows = new Uint8Array(distinct.length * width);
  distinct.forEach((rule, row) => seenCells.forEach((seen, c) => (rows[row * width + c] = matchesCell(rule, seen) ? 1 : 0)));
  return { rowOf, rows };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
}

function lintModel(model: RuleSetModel, domain: Domain, mode: ServiceTierMode, maxGaps: number): LintReport {
  const findings: Finding[] = [];
  const rules = model.rules;
  const cells = catalogCells(domain.catalog);
  const seenCells = cells.map((c) => masked(c, mode));
  const width = cells.length;
  const { rowOf, rows } = catalogMatches(rules, seenCells);
  /** Does rule r's catalog conditions hold on cell c under this mode? */
  const hit = (r: number, c: number): boolean => rows[(rowOf[r] as number) * width + c] === 1;
  const indexes = FREE_ATTRIBUTES.map((a) => indexAttribute(rules, a));
  let pairComparisons = 0;

  // Unreachable: every cell the rule matches is fully taken by a rule before it. The earlier
  // rules that cover it on the free attributes are found once; each cell then takes the first
  // of them that matches it, as a scan over all earlier rules would.
  rules.forEach((rule, r) => {
    let coverers: number[] | undefined;
    const shadows = new Set<string>();
    let reachable = false;
    let matchesAny = false;
    for (let c = 0; c < width && !reachable; c++) {
      if (!hit(r, c)) continue;
      matchesAny = true;
      if (coverers === undefined) {
        const candidates = narrowest(indexes, rule, coverCandidates, 0, r) ?? range(0, r);
        pairComparisons += candidates.length;
        coverers = candidates.filter((e) => coversFree(rules[e] as RuleDef, rule));
      }
      const shadow = coverers.find((e) => hit(e, c));
      if (shadow === undefined) reachable = true;
      else shadows.add((rules[shadow] as RuleDef).id);
    }
    if (!reachable) findings.push(unreachableFinding(model.file, rule, mode, matchesAny, shadows));
  });

  // Ambiguous: same precedence, different outcomes, and some request both match. Rules are
  // sorted by precedence, so the rivals of rule a lie in its precedence group after it.
  let groupEnd = 0;
  for (let a = 0; a < rules.length; a++) {
    const ra = rules[a] as RuleDef;
    if (a >= groupEnd) {
      groupEnd = a + 1;
      while (groupEnd < rules.length && (rules[groupEnd] as RuleDef).precedence === ra.precedence) groupEnd++;
    }
    const rivals = narrowest(indexes, ra, overlapCandidates, a + 1, groupEnd) ?? range(a + 1, groupEnd);
    pairComparisons += rivals.length;
    for (const b of rivals) {
      const rb = rules[b] as RuleDef;
      if (sameOutcome(ra.outcome, rb.outcome) || !intersectsFree(ra, rb)) continue;
      let c = 0;
      while (c < width && !(hit(a, c) && hit(b, c))) c++;
      if (c < width) findings.push(ambiguousFinding(model.file, ra, rb, seenCells[c] as CatalogCell));
    }
  }

  // Gaps: a catalog combination (with each free attribute missing or holding a value no rule
  // names) no rule matches. Which variants a rule covers does not depend on the cell, so each
  // cell's covered variants are the union (a bit mask) over the rules matching it.
  const covered = new Uint32Array(width);
  rules.forEach((rule, r) => {
    let mask = 0;
    FREE_VARIANTS.forEach((variant, v) => {
      if (coversVariant(rule, variant)) mask |= 1 << v;
    });
    if (mask !== 0) for (let c = 0; c < width; c++) if (hit(r, c)) covered[c] = (covered[c] as number) | mask;
  });
  const gaps: Finding[] = [];
  // Cells that differ only in the attribute the mode ignores are one gap, reported once.
  const reported = new Set<string>();
  seenCells.forEach((seen, c) => {
    const key = `${seen.serviceTier}/${seen.classification}/${seen.requestType}`;
    if (reported.has(key)) return;
    const v = FREE_VARIANTS.findIndex((_, i) => ((covered[c] as number) & (1 << i)) === 0);
    if (v < 0) return;
    reported.add(key);
    gaps.push(gapFinding(model.file, seen, FREE_VARIANTS[v] as (typeof FREE_VARIANTS)[number], mode));
  });
  findings.push(...limitGaps(model.file, gaps, maxGaps));
  return { findings, stats: { rules: rules.length, pairComparisons } };
}
