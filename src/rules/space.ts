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

/** Characters tried for a negated class (`[!…]`, `[^…]`): the first one the class does not list. */
const OUTSIDE_CLASS = ['0', 'X', '_', 'x'];

/** A concrete string the glob matches, when a simple substitution finds one. */
export function sampleOfGlob(pattern: string, test: (v: string) => boolean): string | null {
  const candidate = pattern
    .replace(/\{([^,}]*)[^}]*\}/g, '$1')
    .replace(/\[([!^]?)([^\]][^\]]*)\]/g, (_class: string, negated: string, listed: string) => (negated === '' ? listed.charAt(0) : (OUTSIDE_CLASS.find((c) => !listed.includes(c)) ?? '')))
    .replace(/\*+/g, 'x')
    .replace(/\?/g, 'x');
  return test(candidate) ? candidate : null;
}

/** A glob token of the simple subset: one literal character, `?` or `*`. */
type GlobToken = { readonly kind: 'char'; readonly char: string } | { readonly kind: 'one' } | { readonly kind: 'any' };

/**
 * The pattern as tokens when it uses only literal characters, `?` and `*` (the globs rule sets
 * use in practice, e.g. `atlas-*`), else undefined. Literal `/` is refused too: under the
 * matcher's options `*` crosses it but `?` does not, and the simple model below does not
 * encode that difference.
 */
function simpleGlobTokens(pattern: string, starTakesOne: boolean): GlobToken[] | undefined {
  const tokens: GlobToken[] = [];
  for (const char of pattern) {
    if (char === '*') {
      // `**` matches what `*` matches under the matcher's bash option.
      if (tokens.at(-1)?.kind !== 'any') {
        if (starTakesOne) tokens.push({ kind: 'one' });
        tokens.push({ kind: 'any' });
      }
    } else if (char === '?') tokens.push({ kind: 'one' });
    else if ('[]{}()!+@\\/'.includes(char)) return undefined;
    else tokens.push({ kind: 'char', char });
  }
  return tokens;
}

/**
 * A value both globs match, null when no value can (the globs are disjoint), or undefined when
 * either glob uses syntax beyond literals, `?` and `*` — callers then assume an overlap.
 *
 * Why exact: lint reports two same-precedence rules as ambiguous when some request matches
 * both; with `atlas-*` and `nova-*` assumed to overlap it would cry wolf on every rule set that
 * splits models by family. The search walks the product of the two patterns (positions i in
 * `a`, j in `b`): `*` may match nothing (advance past it) or one more character (stay), a
 * literal must meet an equal literal or a wildcard. The matcher never matches the empty string,
 * nor `.` or `..` through a `*` (they name path segments), so the walk also remembers whether
 * its text so far is one of those three and offers `.` or `..` only when nothing else fits.
 * Breadth-first, so the witness is short. The matcher accepts a subset of what this model
 * accepts, so `null` is exact; a witness is to be checked against the real matchers, which in
 * places refuse an empty `*` (`*.*` refuses `a.`): `starTakesOne` then asks for a witness in
 * which every `*` takes at least one character.
 */
export function globWitness(a: string, b: string, options: { readonly starTakesOne?: boolean } = {}): string | null | undefined {
  const ta = simpleGlobTokens(a, options.starTakesOne ?? false);
  const tb = simpleGlobTokens(b, options.starTakesOne ?? false);
  if (ta === undefined || tb === undefined) return undefined;
  const width = tb.length + 1;
  const seen = new Set<number>([0]);
  const queue: { i: number; j: number; text: string }[] = [{ i: 0, j: 0, text: '' }];
  const visit = (i: number, j: number, text: string) => {
    const key = (i * width + j) * 4 + textClass(text);
    if (seen.has(key)) return;
    seen.add(key);
    queue.push({ i, j, text });
  };
  let dotted: string | undefined;
  for (let head = 0; head < queue.length; head++) {
    const { i, j, text } = queue[head] as { i: number; j: number; text: string };
    const x = ta[i];
    const y = tb[j];
    if (x === undefined && y === undefined) {
      if (textClass(text) === OTHER_TEXT) return text;
      if (text !== '') dotted ??= text;
    }
    if (x?.kind === 'any') visit(i + 1, j, text);
    if (y?.kind === 'any') visit(i, j + 1, text);
    if (x === undefined || y === undefined) continue;
    // One character consumed by both sides: a literal fixes it, wildcards take any ('x').
    if (x.kind === 'char' && y.kind === 'char' && x.char !== y.char) continue;
    const char = x.kind === 'char' ? x.char : y.kind === 'char' ? y.char : 'x';
    const ni = x.kind === 'any' ? i : i + 1;
    const nj = y.kind === 'any' ? j : j + 1;
    // Both staying on a `*` loops back to the same state unless the text's class changes.
    if (ni !== i || nj !== j || textClass(text) !== OTHER_TEXT) visit(ni, nj, text + char);
  }
  return dotted ?? null;
}

const OTHER_TEXT = 3;

/** 0 for '', 1 for '.', 2 for '..', 3 for any other text: the values the matcher treats apart. */
function textClass(text: string): number {
  return text === '' ? 0 : text === '.' ? 1 : text === '..' ? 2 : OTHER_TEXT;
}
