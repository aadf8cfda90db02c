/**
 * Normalization between the two priority vocabularies a token can carry, over the raw
 * integer range of rules/priorities.json (0-150):
 *
 * - raw 0-3 are legacy levels and read as the tier the scale assigns that level
 *   (`scale.tierOfLegacy`);
 * - raw 4-150 fall in the band of the tier whose `from` is the greatest not above the value,
 *   so anything above the top tier's own value still reads as the top tier;
 * - the reverse direction maps any tier to its legacy level (`tier.legacyLevel`).
 *
 * The function is total over the integers of the range and rejects anything else with a
 * typed {@link NormalizationError}. The table is compiled once per scale, so the token hot
 * path is one array index.
 */
import { LEGACY_LEVELS, type LegacyLevel, type PriorityScale, type Tier } from '../catalog/index.js';
import { NormalizationError } from './errors.js';

export interface Normalized {
  readonly tier: Tier;
  readonly legacyLevel: LegacyLevel;
}

/** Which vocabulary a raw value belongs to: 0-3 legacy levels, 4 and above the P scale. */
export type PriorityScheme = 'legacy' | 'p-scale';

/** One row of the full raw → tier table, as printed by `prio token normalize --table`. */
export interface NormalizationRow {
  readonly raw: number;
  readonly scheme: PriorityScheme;
  readonly tier: string;
  readonly tierValue: number;
  readonly legacyLevel: LegacyLevel;
  /** The band (inclusive bounds) a p-scale value fell in; absent for legacy levels. */
  readonly band?: { readonly from: number; readonly to: number };
}

/** One row of the reverse table: a tier, the legacy level it writes as, and the tier that level reads back as. */
export interface ReverseRow {
  readonly tier: string;
  readonly tierValue: number;
  readonly legacyLevel: LegacyLevel;
  readonly readsBackAs: string;
}

const HIGHEST_LEGACY_LEVEL = LEGACY_LEVELS[LEGACY_LEVELS.length - 1] as LegacyLevel;

export function schemeOfRaw(raw: number): PriorityScheme {
  return raw <= HIGHEST_LEGACY_LEVEL ? 'legacy' : 'p-scale';
}

interface CompiledScale {
  /** Indexed by raw value; entries below rawMin are undefined. */
  readonly byRaw: readonly (Normalized | undefined)[];
  readonly rows: readonly NormalizationRow[];
}

const compiledScales = new WeakMap<PriorityScale, CompiledScale>();

function compile(scale: PriorityScale): CompiledScale {
  const cached = compiledScales.get(scale);
  if (cached !== undefined) return cached;
  const byRaw: (Normalized | undefined)[] = [];
  const rows: NormalizationRow[] = [];
  for (let raw = scale.rawMin; raw <= scale.rawMax; raw++) {
    let entry: Normalized;
    let band: { from: number; to: number } | undefined;
    if (raw <= HIGHEST_LEGACY_LEVEL) {
      const level = raw as LegacyLevel;
      entry = Object.freeze({ tier: scale.tierOfLegacy(level), legacyLevel: level });
    } else {
      const i = lastBandIndexAtOrBelow(scale, raw);
      const b = scale.bands[i];
      // parsePriorities guarantees the first band starts right after the legacy levels; a gap
      // here means the scale was built by hand, which is a programming error.
      if (b === undefined) throw new Error(`priority scale has no band for raw value ${raw}`);
      entry = Object.freeze({ tier: b.tier, legacyLevel: b.tier.legacyLevel });
      band = { from: b.from, to: (scale.bands[i + 1]?.from ?? scale.rawMax + 1) - 1 };
    }
    byRaw[raw] = entry;
    rows.push(
      Object.freeze({
        raw,
        scheme: schemeOfRaw(raw),
        tier: entry.tier.name,
        tierValue: entry.tier.value,
        legacyLevel: entry.legacyLevel,
        ...(band === undefined ? {} : { band: Object.freeze(band) }),
      }),
    );
  }
  const compiled = { byRaw: Object.freeze(byRaw), rows: Object.freeze(rows) };
  compiledScales.set(scale, compiled);
  return compiled;
}

function lastBandIndexAtOrBelow(scale: PriorityScale, raw: number): number {
  let found = -1;
  scale.bands.forEach((b, i) => {
    if (b.from <= raw) found = i;
  });
  return found;
}

/**
 * The tier and legacy level a raw priority value reads as. Total over the integers
 * `scale.rawMin`..`scale.rawMax` (0-150); throws {@link NormalizationError} for anything else
 * (non-number, NaN, fractions, out of range).
 */
export function normalizeRaw(scale: PriorityScale, raw: number): Normalized {
  const entry = lookupRaw(scale, raw);
  if (entry !== undefined) return entry;
  if (typeof raw !== 'number' || Number.isNaN(raw)) {
    throw new NormalizationError(raw, `priority value must be a number, got ${describe(raw)}`);
  }
  if (!Number.isInteger(raw)) throw new NormalizationError(raw, `priority value must be an integer, got ${raw}`);
  throw new NormalizationError(raw, `priority value ${raw} is outside ${scale.rawMin}-${scale.rawMax}`);
}

/** Like {@link normalizeRaw} but returns undefined instead of throwing: the token reader's hot path. */
export function lookupRaw(scale: PriorityScale, raw: number): Normalized | undefined {
  // Number.isInteger rejects NaN, ±Infinity and fractions in one check; the range check keeps
  // "1e3" style values and negatives out of the array index.
  if (!Number.isInteger(raw) || raw < scale.rawMin || raw > scale.rawMax) return undefined;
  return compile(scale).byRaw[raw];
}

/** The raw value a writer puts in a token for `tier`: its legacy level (v1) or its own value on the P scale (v2). */
export function rawForTier(tier: Tier, scheme: PriorityScheme): number {
  return scheme === 'legacy' ? tier.legacyLevel : tier.value;
}

/** The reverse direction: the legacy level any tier is written as for an old build. */
export function legacyLevelOfTier(tier: Tier): LegacyLevel {
  return tier.legacyLevel;
}

/** The whole raw → tier table, rawMin to rawMax. */
export function normalizationTable(scale: PriorityScale): readonly NormalizationRow[] {
  return compile(scale).rows;
}

/** Tier → legacy level → tier, for every tier, highest first. */
export function reverseTable(scale: PriorityScale): readonly ReverseRow[] {
  return scale.tiers.map((t) => ({
    tier: t.name,
    tierValue: t.value,
    legacyLevel: t.legacyLevel,
    readsBackAs: scale.tierOfLegacy(t.legacyLevel).name,
  }));
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return typeof value;
}
