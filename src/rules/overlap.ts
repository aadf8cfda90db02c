/**
 * What lint asks of two rules (does one cover the other, could both match one request) and
 * the findings it writes. Shared by the indexed lint (lint.ts) and the all-pairs reference
 * model its property test compares it with, so the two can differ only in which pairs they
 * look at.
 */
import { conditionMatches } from './interpret.js';
import type { Condition, FreeAttribute, Outcome, RequestAttributes, RuleDef, ServiceTierMode } from './model.js';
import { FREE_ATTRIBUTES } from './model.js';
import type { ParseIssueKind } from './parse.js';
import { acceptsAnyValue, acceptsUnlisted, globWitness, sampleOfGlob, UNLISTED, type CatalogCell } from './space.js';

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

/** The raw catalog cell as the rules see it under `mode`. */
export function masked(cell: CatalogCell, mode: ServiceTierMode): CatalogCell {
  const ignoreServiceTier = mode === 'request-type' || (mode === 'service-tier-with-fallback' && cell.serviceTier === null);
  return ignoreServiceTier ? { ...cell, serviceTier: null } : { ...cell, requestType: null };
}

export function matchesCell(rule: RuleDef, seen: CatalogCell): boolean {
  return conditionMatches(rule.when.serviceTier, seen.serviceTier) && conditionMatches(rule.when.classification, seen.classification) && conditionMatches(rule.when.requestType, seen.requestType);
}

/** Does `a` accept every value `b` accepts? Conservative: false when unsure. */
export function covers(a: Condition | undefined, b: Condition | undefined): boolean {
  if (a === undefined) return true;
  if (b === undefined) return a.missing && acceptsAnyValue(a);
  if (b.missing && !a.missing) return false;
  if (acceptsAnyValue(a)) return true;
  for (const v of b.values) if (!conditionMatches(a, v)) return false;
  return b.globs.every((g) => a.globs.some((h) => h.pattern === g.pattern));
}

/** Does `earlier` take every request `later` matches, as far as the free attributes go? */
export function coversFree(earlier: RuleDef, later: RuleDef): boolean {
  return FREE_ATTRIBUTES.every((a) => covers(earlier.when[a], later.when[a]));
}

/** Could some value satisfy both? Globs beyond literals, `?` and `*` are assumed to overlap. */
function intersects(a: Condition | undefined, b: Condition | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  if (a.missing && b.missing) return true;
  return sharedValue(a, b) !== undefined;
}

/** Could one request carry free-attribute values both rules accept? */
export function intersectsFree(a: RuleDef, b: RuleDef): boolean {
  return FREE_ATTRIBUTES.every((x) => intersects(a.when[x], b.when[x]));
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

export function sameOutcome(a: Outcome, b: Outcome): boolean {
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

/**
 * A rule that can never win. `shadows`: the earlier rules that take its requests, in the order
 * found (empty when it matches no catalog cell at all); `matchesAny`: it matches some cell.
 */
export function unreachableFinding(file: string, rule: RuleDef, mode: ServiceTierMode, matchesAny: boolean, shadows: ReadonlySet<string>): Finding {
  const ignored = mode === 'service-tier' ? 'requestType' : mode === 'request-type' ? 'serviceTier' : null;
  const needsIgnored = ignored !== null && rule.when[ignored] !== undefined && !(rule.when[ignored] as Condition).missing;
  const message = matchesAny
    ? `rule "${rule.id}" can never win: every request it matches is taken first by ${[...shadows].map((s) => `"${s}"`).join(', ')}`
    : needsIgnored
      ? `rule "${rule.id}" matches no request in ${mode} mode: it needs a ${ignored}, which this mode ignores (treats as missing)`
      : `rule "${rule.id}" matches no request in ${mode} mode: its conditions exclude each other`;
  return { kind: 'unreachable', file, pointer: rule.pointer, message, ruleId: rule.id, ...(shadows.size > 0 ? { related: [...shadows] } : {}) };
}

/** Two rules of one precedence that disagree on a request both match (`seen`, a cell both match). */
export function ambiguousFinding(file: string, ra: RuleDef, rb: RuleDef, seen: CatalogCell): Finding {
  const level = ra.isOverride ? 'both account overrides' : `both precedence ${ra.precedence}`;
  return {
    kind: 'ambiguous',
    file,
    pointer: rb.pointer,
    message: `rules "${ra.id}" and "${rb.id}" (${level}) both match some requests but disagree (${describeOutcome(ra.outcome)} vs ${describeOutcome(rb.outcome)}); "${ra.id}" wins only because it comes first — give one a higher precedence`,
    ruleId: rb.id,
    related: [ra.id],
    example: exampleOf(seen, sharedFreeValues(ra, rb)),
  };
}

/**
 * The representatives of the free attributes a gap search tries: every combination of
 * "missing" (absent key) and a value no rule names, in a fixed order (all missing first).
 */
export const FREE_VARIANTS: readonly Partial<Record<FreeAttribute, string>>[] = Array.from({ length: 1 << FREE_ATTRIBUTES.length }, (_, mask) => {
  const v: Partial<Record<FreeAttribute, string>> = {};
  FREE_ATTRIBUTES.forEach((attr, i) => {
    if ((mask & (1 << i)) !== 0) v[attr] = UNLISTED;
  });
  return v;
});

/** Does `rule` match a request whose free attributes are `variant` (absent key: missing)? */
export function coversVariant(rule: RuleDef, variant: Partial<Record<FreeAttribute, string>>): boolean {
  return FREE_ATTRIBUTES.every((a) => (variant[a] === undefined ? conditionMatches(rule.when[a], null) : acceptsUnlisted(rule.when[a])));
}

export function gapFinding(file: string, seen: CatalogCell, variant: Partial<Record<FreeAttribute, string>>, mode: ServiceTierMode): Finding {
  const example = exampleOf(seen, variant);
  return { kind: 'gap', file, pointer: '/rules', message: `no rule matches ${JSON.stringify(example)} in ${mode} mode: it would fail closed`, example };
}

/** The first `maxGaps` gaps, the rest summed up in one last finding. */
export function limitGaps(file: string, gaps: readonly Finding[], maxGaps: number): Finding[] {
  const shown = gaps.slice(0, maxGaps);
  if (gaps.length > maxGaps) {
    shown.push({ kind: 'gap', file, pointer: '/rules', message: `... and ${gaps.length - maxGaps} more catalog combinations no rule matches (${gaps.length} in all)` });
  }
  return shown;
}
