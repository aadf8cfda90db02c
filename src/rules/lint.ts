/**
 * `prio rules check`: everything wrong with a rule set that would otherwise surface only in
 * production — schema errors, unknown references, duplicate ids, rules that can never win,
 * equal-precedence rules that disagree on shared inputs, and inputs no rule covers.
 */
import type { Domain } from '../catalog/index.js';
import { conditionMatches } from './interpret.js';
import type { Condition, FreeAttribute, Outcome, RequestAttributes, RuleDef, RuleSetModel, ServiceTierMode } from './model.js';
import { FREE_ATTRIBUTES } from './model.js';
import { parseRuleSet, type ParseIssueKind } from './parse.js';
import { acceptsAnyValue, acceptsUnlisted, catalogCells, globWitness, sampleOfGlob, UNLISTED, type CatalogCell } from './space.js';

export type FindingKind = ParseIssueKind | 'unreachable' | 'ambiguous' | 'gap';

export interface Finding {
  readonly kind: FindingKind;
  readonly file: string;
  /** JSON pointer to the rule (or `/rules` for a gap). */
  readonly pointer: string;
  readonly message: string;
  readonly ruleId?: string;
  /** Other rules involved: the shadowing rules of an unreachable one, the rival of an ambiguous one. */
  readonly related?: readonly string[];
  /** A request showing the problem (gaps and ambiguities). */
  readonly example?: RequestAttributes;
}

export interface LintOptions {
  /** Lint as evaluated in this mode instead of the file's own. */
  readonly mode?: ServiceTierMode;
  /** Gap findings listed one by one before the rest are summed up in one finding. Default 20. */
  readonly maxGaps?: number;
}

export function lintRuleSet(doc: unknown, file: string, domain: Domain, options: LintOptions = {}): Finding[] {
  const { model, issues } = parseRuleSet(doc, file, domain);
  if (model === null) return issues.map((i) => ({ kind: i.kind, file: i.file, pointer: i.pointer, message: i.message }));
  return lintModel(model, domain, options.mode ?? model.declaredMode, options.maxGaps ?? 20);
}

/** The raw catalog cell as the rules see it under `mode`. */
function masked(cell: CatalogCell, mode: ServiceTierMode): CatalogCell {
  const ignoreServiceTier = mode === 'request-type' || (mode === 'service-tier-with-fallback' && cell.serviceTier === null);
  return ignoreServiceTier ? { ...cell, serviceTier: null } : { ...cell, requestType: null };
}

function matchesCell(rule: RuleDef, seen: CatalogCell): boolean {
  return conditionMatches(rule.when.serviceTier, seen.serviceTier) && conditionMatches(rule.when.classification, seen.classification) && conditionMatches(rule.when.requestType, seen.requestType);
}

/** Does `a` accept every value `b` accepts? Conservative: false when unsure. */
function covers(a: Condition | undefined, b: Condition | undefined): boolean {
  if (a === undefined) return true;
  if (b === undefined) return a.missing && acceptsAnyValue(a);
  if (b.missing && !a.missing) return false;
  if (acceptsAnyValue(a)) return true;
  for (const v of b.values) if (!conditionMatches(a, v)) return false;
  return b.globs.every((g) => a.globs.some((h) => h.pattern === g.pattern));
}

/** Could some value satisfy both? Globs beyond literals, `?` and `*` are assumed to overlap. */
function intersects(a: Condition | undefined, b: Condition | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  if (a.missing && b.missing) return true;
  return sharedValue(a, b) !== undefined;
}

/**
 * A present value both conditions accept, if one is known: a listed value of one the other
 * accepts, or a value two globs both match. A pair of globs whose overlap cannot be decided
 * counts as overlapping; the shared value is then a sample of the first glob if the second
 * accepts it, else the empty string (an overlap assumed, no value to show).
 */
function sharedValue(a: Condition, b: Condition): string | undefined {
  for (const v of a.values) if (conditionMatches(b, v)) return v;
  for (const v of b.values) if (conditionMatches(a, v)) return v;
  for (const g of a.globs) {
    for (const h of b.globs) {
      const witness = globWitness(g.pattern, h.pattern);
      if (witness !== null) {
        const both = (w: string | null | undefined): w is string => typeof w === 'string' && g.test(w) && h.test(w);
        if (both(witness)) return witness;
        const longer = globWitness(g.pattern, h.pattern, { starTakesOne: true });
        if (both(longer)) return longer;
        const sample = sampleOfGlob(g.pattern, g.test);
        return sample !== null && h.test(sample) ? sample : '';
      }
    }
  }
  return undefined;
}

/** Values of the free attributes a request matching both rules can carry (for the example). */
function sharedFreeValues(a: RuleDef, b: RuleDef): Partial<Record<FreeAttribute, string>> {
  const free: Partial<Record<FreeAttribute, string>> = {};
  for (const attr of FREE_ATTRIBUTES) {
    const ca = a.when[attr];
    const cb = b.when[attr];
    if (ca === undefined && cb === undefined) continue;
    if (ca !== undefined && cb !== undefined && ca.missing && cb.missing) continue;
    const value = ca === undefined ? firstValue(cb as Condition) : cb === undefined ? firstValue(ca) : sharedValue(ca, cb);
    if (value !== undefined && value !== '') free[attr] = value;
  }
  return free;
}

function firstValue(c: Condition): string | undefined {
  if (c.missing) return undefined;
  const [first] = c.values;
  if (first !== undefined) return first;
  const glob = c.globs[0];
  return glob === undefined ? undefined : (sampleOfGlob(glob.pattern, glob.test) ?? undefined);
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a.tier === b.tier && a.legacyLevel === b.legacyLevel && a.qos === b.qos && a.preemptable === b.preemptable;
}

export function describeOutcome(o: Outcome): string {
  const priority = o.legacyLevel === null ? o.tier.name : `level ${o.legacyLevel}`;
  return `${priority} qos ${o.qos}${o.preemptable ? ' preemptable' : ''}`;
}

function exampleOf(cell: CatalogCell, free: Partial<Record<FreeAttribute, string>> = {}): RequestAttributes {
  return {
    ...(cell.serviceTier === null ? {} : { serviceTier: cell.serviceTier }),
    classification: cell.classification,
    ...(cell.requestType === null ? {} : { requestType: cell.requestType }),
    ...free,
  };
}

function lintModel(model: RuleSetModel, domain: Domain, mode: ServiceTierMode, maxGaps: number): Finding[] {
  const findings: Finding[] = [];
  const rules = model.rules;
  const cells = catalogCells(domain.catalog);
  const seenCells = cells.map((c) => masked(c, mode));
  // matches[r][c]: rule r's catalog conditions hold on cell c under this mode.
  const matches = rules.map((r) => seenCells.map((s) => matchesCell(r, s)));

  // Unreachable: every cell the rule matches is fully taken by a rule before it.
  rules.forEach((rule, r) => {
    const row = matches[r] as boolean[];
    const shadows = new Set<string>();
    let reachable = false;
    let matchesAny = false;
    row.forEach((hit, c) => {
      if (!hit || reachable) return;
      matchesAny = true;
      const shadow = rules.slice(0, r).find((earlier, e) => (matches[e] as boolean[])[c] === true && FREE_ATTRIBUTES.every((a) => covers(earlier.when[a], rule.when[a])));
      if (shadow === undefined) reachable = true;
      else shadows.add(shadow.id);
    });
    if (reachable) return;
    const ignored = mode === 'service-tier' ? 'requestType' : mode === 'request-type' ? 'serviceTier' : null;
    const needsIgnored = ignored !== null && rule.when[ignored] !== undefined && !(rule.when[ignored] as Condition).missing;
    const message = matchesAny
      ? `rule "${rule.id}" can never win: every request it matches is taken first by ${[...shadows].map((s) => `"${s}"`).join(', ')}`
      : needsIgnored
        ? `rule "${rule.id}" matches no request in ${mode} mode: it needs a ${ignored}, which this mode ignores (treats as missing)`
        : `rule "${rule.id}" matches no request in ${mode} mode: its conditions exclude each other`;
    findings.push({ kind: 'unreachable', file: model.file, pointer: rule.pointer, message, ruleId: rule.id, ...(shadows.size > 0 ? { related: [...shadows] } : {}) });
  });

  // Ambiguous: same precedence, different outcomes, and some request both match.
  for (let a = 0; a < rules.length; a++) {
    const ra = rules[a] as RuleDef;
    for (let b = a + 1; b < rules.length; b++) {
      const rb = rules[b] as RuleDef;
      if (ra.precedence !== rb.precedence) break; // sorted by precedence: no later rule ties with ra
      if (sameOutcome(ra.outcome, rb.outcome)) continue;
      if (!FREE_ATTRIBUTES.every((x) => intersects(ra.when[x], rb.when[x]))) continue;
      const c = (matches[a] as boolean[]).findIndex((hit, i) => hit && (matches[b] as boolean[])[i] === true);
      if (c < 0) continue;
      const level = ra.isOverride ? 'both account overrides' : `both precedence ${ra.precedence}`;
      findings.push({
        kind: 'ambiguous',
        file: model.file,
        pointer: rb.pointer,
        message: `rules "${ra.id}" and "${rb.id}" (${level}) both match some requests but disagree (${describeOutcome(ra.outcome)} vs ${describeOutcome(rb.outcome)}); "${ra.id}" wins only because it comes first — give one a higher precedence`,
        ruleId: rb.id,
        related: [ra.id],
        example: exampleOf(seenCells[c] as CatalogCell, sharedFreeValues(ra, rb)),
      });
    }
  }

  // Gaps: a catalog combination (with each free attribute missing or holding a value no rule names) no rule matches.
  const variants: Partial<Record<FreeAttribute, string>>[] = [];
  for (let mask = 0; mask < 1 << FREE_ATTRIBUTES.length; mask++) {
    const v: Partial<Record<FreeAttribute, string>> = {};
    FREE_ATTRIBUTES.forEach((attr, i) => {
      if ((mask & (1 << i)) !== 0) v[attr] = UNLISTED;
    });
    variants.push(v);
  }
  const gaps: Finding[] = [];
  // Cells that differ only in the attribute the mode ignores are one gap, reported once.
  const reported = new Set<string>();
  cells.forEach((cell, c) => {
    const seen = seenCells[c] as CatalogCell;
    const key = `${seen.serviceTier}/${seen.classification}/${seen.requestType}`;
    if (reported.has(key)) return;
    for (const variant of variants) {
      const covered = rules.some((rule, r) => (matches[r] as boolean[])[c] === true && FREE_ATTRIBUTES.every((a) => (variant[a] === undefined ? conditionMatches(rule.when[a], null) : acceptsUnlisted(rule.when[a]))));
      if (covered) continue;
      reported.add(key);
      const example = exampleOf(seen, variant);
      gaps.push({ kind: 'gap', file: model.file, pointer: '/rules', message: `no rule matches ${JSON.stringify(example)} in ${mode} mode: it would fail closed`, example });
      break;
    }
  });
  findings.push(...gaps.slice(0, maxGaps));
  if (gaps.length > maxGaps) {
    findings.push({ kind: 'gap', file: model.file, pointer: '/rules', message: `... and ${gaps.length - maxGaps} more catalog combinations no rule matches (${gaps.length} in all)` });
  }
  return findings;
}
