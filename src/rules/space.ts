/**
 * The finite input space: every catalog attribute enumerated (plus "missing" for the optional
 * ones), as lint and the static diff walk it. Free attributes (modelId, region, accountId)
 * are open-ended; callers choose which representative values to try.
 */
import type { Catalog } from '../catalog/index.js';
import type { Condition } from './model.js';

export interface CatalogCell {
  readonly serviceTier: string | null;
  readonly classification: string;
  readonly requestType: string | null;
}

/** Every (serviceTier|missing) × classification × (requestType|missing) combination, in catalog order. */
export function catalogCells(catalog: Catalog): CatalogCell[] {
  const cells: CatalogCell[] = [];
  for (const serviceTier of [...catalog.serviceTiers, null]) {
    for (const classification of catalog.classifications) {
      for (const requestType of [...catalog.requestTypes, null]) cells.push({ serviceTier, classification, requestType });
    }
  }
  return cells;
}

/** Stands for "a value no rule names" in examples and enumerations. */
export const UNLISTED = '(unlisted)';

const UNIVERSAL_GLOBS = new Set(['*', '**']);

/** True when the condition accepts every present value (no condition, or a `*` glob). */
export function acceptsAnyValue(c: Condition | undefined): boolean {
  return c === undefined || c.globs.some((g) => UNIVERSAL_GLOBS.has(g.pattern));
}

/** True when the condition accepts a value that no rule names. */
export function acceptsUnlisted(c: Condition | undefined): boolean {
  return acceptsAnyValue(c);
}

/** A concrete string the glob matches, when a simple substitution finds one. */
export function sampleOfGlob(pattern: string, test: (v: string) => boolean): string | null {
  const candidate = pattern
    .replace(/\{([^,}]*)[^}]*\}/g, '$1')
    .replace(/\[!?([^\]])[^\]]*\]/g, '$1')
    .replace(/\*+/g, 'x')
    .replace(/\?/g, 'x');
  return test(candidate) ? candidate : null;
}
