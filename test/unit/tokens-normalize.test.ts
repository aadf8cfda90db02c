import { describe, expect, it } from 'vitest';
import { legacyLevelOfTier, lookupRaw, normalizationTable, normalizeRaw, NormalizationError, reverseTable } from '../../src/tokens/index.js';
import { scale } from './tokens-support.js';

const tierOf = (raw: number) => normalizeRaw(scale, raw).tier.name;

describe('normalizeRaw', () => {
  it('reads raw 0-3 as legacy levels', () => {
    expect([0, 1, 2, 3].map(tierOf)).toEqual(['P100', 'P75', 'P50', 'P10']);
    expect([0, 1, 2, 3].map((r) => normalizeRaw(scale, r).legacyLevel)).toEqual([0, 1, 2, 3]);
  });

  it('bands 4-150 by rules/priorities.json, band edges included', () => {
    const edges: [number, string][] = [
      [4, 'P5'], [7, 'P5'], [8, 'P10'], [17, 'P10'], [18, 'P25'], [37, 'P25'], [38, 'P50'], [62, 'P50'],
      [63, 'P75'], [82, 'P75'], [83, 'P90'], [94, 'P90'], [95, 'P100'], [100, 'P100'], [150, 'P100'],
    ];
    for (const [raw, tier] of edges) expect(tierOf(raw), `raw ${raw}`).toBe(tier);
  });

  it("reads each tier's own value as that tier, with that tier's legacy level", () => {
    for (const t of scale.tiers) expect(normalizeRaw(scale, t.value)).toEqual({ tier: t, legacyLevel: t.legacyLevel });
  });

  it.each([-1, 151, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5, 2 ** 53])('rejects %s with a NormalizationError', (raw) => {
    expect(() => normalizeRaw(scale, raw)).toThrow(NormalizationError);
    expect(lookupRaw(scale, raw)).toBeUndefined();
  });

  it('rejects non-numbers with a typed error naming the value', () => {
    expect(() => normalizeRaw(scale, '50' as unknown as number)).toThrow(/must be a number, got the string "50"/);
    expect(() => normalizeRaw(scale, null as unknown as number)).toThrow(NormalizationError);
  });
});

describe('tables', () => {
  it('lists every raw value 0-150 once, with its band', () => {
    const rows = normalizationTable(scale);
    expect(rows.map((r) => r.raw)).toEqual(Array.from({ length: 151 }, (_, i) => i));
    expect(rows[2]).toEqual({ raw: 2, scheme: 'legacy', tier: 'P50', tierValue: 50, legacyLevel: 2 });
    expect(rows[40]).toEqual({ raw: 40, scheme: 'p-scale', tier: 'P50', tierValue: 50, legacyLevel: 2, band: { from: 38, to: 62 } });
    expect(rows[150]?.band).toEqual({ from: 95, to: 150 });
  });

  it('maps every tier to a legacy level and back', () => {
    expect(reverseTable(scale).map((r) => `${r.tier}>${r.legacyLevel}>${r.readsBackAs}`)).toEqual([
      'P100>0>P100', 'P90>0>P100', 'P75>1>P75', 'P50>2>P50', 'P25>2>P50', 'P10>3>P10', 'P5>3>P10',
    ]);
    for (const t of scale.tiers) expect(legacyLevelOfTier(t)).toBe(t.legacyLevel);
  });
});
