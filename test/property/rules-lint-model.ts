/**
 * A deliberately simple reference model of lint's search (src/rules/lint.ts): every rule
 * compared with every earlier rule for shadowing, every pair of one precedence for ambiguity,
 * every rule tried on every gap. It is the all-pairs lint the indexed one replaced; the
 * property test checks both find exactly the same findings, so the index can only ever skip
 * pairs that could not have produced one.
 */
import type { Domain } from '../../src/catalog/index.js';
import type { Finding, RuleSetModel, ServiceTierMode } from '../../src/rules/index.js';
import { ambiguousFinding, coversFree, coversVariant, FREE_VARIANTS, gapFinding, intersectsFree, limitGaps, masked, matchesCell, sameOutcome, unreachableFinding } from '../../src/rules/overlap.js';
import { catalogCells, type CatalogCell } from '../../src/rules/space.js';

export function referenceLint(model: RuleSetModel, domain: Domain, mode: ServiceTierMode, maxGaps = 20): Finding[] {
  const findings: Finding[] = [];
  const rules = model.rules;
  const cells = catalogCells(domain.catalog);
  const seenCells = cells.map((c) => masked(c, mode));
  const matches = rules.map((r) => seenCells.map((s) => matchesCell(r, s)));

  rules.forEach((rule, r) => {
    const row = matches[r] as boolean[];
    const shadows = new Set<string>();
    let reachable = false;
    let matchesAny = false;
    row.forEach((hit, c) => {
      if (!hit || reachable) return;
      matchesAny = true;
      const shadow = rules.slice(0, r).find((earlier, e) => (matches[e] as boolean[])[c] === true && coversFree(earlier, rule));
      if (shadow === undefined) reachable = true;
      else shadows.add(shadow.id);
    });
    if (!reachable) findings.push(unreachableFinding(model.file, rule, mode, matchesAny, shadows));
  });

  for (let a = 0; a < rules.length; a++) {
    for (let b = a + 1; b < rules.length; b++) {
      const ra = rules[a] as (typeof rules)[number];
      const rb = rules[b] as (typeof rules)[number];
      if (ra.precedence !== rb.precedence) break;
      if (sameOutcome(ra.outcome, rb.outcome) || !intersectsFree(ra, rb)) continue;
      const c = (matches[a] as boolean[]).findIndex((hit, i) => hit && (matches[b] as boolean[])[i] === true);
      if (c >= 0) findings.push(ambiguousFinding(model.file, ra, rb, seenCells[c] as CatalogCell));
    }
  }

  const gaps: Finding[] = [];
  const reported = new Set<string>();
  cells.forEach((_, c) => {
    const seen = seenCells[c] as CatalogCell;
    const key = `${seen.serviceTier}/${seen.classification}/${seen.requestType}`;
    if (reported.has(key)) return;
    const variant = FREE_VARIANTS.find((v) => !rules.some((rule, r) => (matches[r] as boolean[])[c] === true && coversVariant(rule, v)));
    if (variant === undefined) return;
    reported.add(key);
    gaps.push(gapFinding(model.file, seen, variant, mode));
  });
  findings.push(...limitGaps(model.file, gaps, maxGaps));
  return findings;
}
