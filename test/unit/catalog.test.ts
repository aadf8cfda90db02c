import { describe, expect, it } from 'vitest';
import { parseCatalog, parsePriorities } from '../../src/catalog/index.js';
import { loadDomain, readJsonFile, DEFAULT_RULES_DIR } from '../../src/config/index.js';
import { join } from 'node:path';
import { configIssues } from '../support/config-issues.js';

const catalogDoc = readJsonFile(join(DEFAULT_RULES_DIR, 'catalog.json')) as Record<string, unknown>;
const prioritiesDoc = readJsonFile(join(DEFAULT_RULES_DIR, 'priorities.json')) as { tiers: Record<string, unknown>[]; legacyLevels: Record<string, unknown>[] };


describe('domain catalog', () => {
  it('loads the shipped catalog and scale', () => {
    const { catalog, scale } = loadDomain();
    expect(catalog.classifications).toHaveLength(10);
    expect(catalog.serviceTiers).toEqual(['RESERVED', 'PRIORITY', 'DEFAULT', 'FLEX']);
    expect(catalog.qosLevels).toEqual([0, 1, 10]);
    expect(scale.tiers.map((t) => t.name)).toEqual(['P100', 'P90', 'P75', 'P50', 'P25', 'P10', 'P5']);
    for (const l of scale.legacyLevels) expect(scale.tierOfLegacy(l.level).legacyLevel).toBe(l.level);
  });

  it('rejects an unknown property with its pointer', () => {
    const issues = configIssues(() => parseCatalog({ ...catalogDoc, extra: 1 }, 'catalog.json'));
    expect(issues).toContainEqual({ file: 'catalog.json', pointer: '', message: 'unknown property "extra"' });
  });

  it('rejects a provisioned classification outside the catalog', () => {
    const issues = configIssues(() => parseCatalog({ ...catalogDoc, provisionedClassifications: ['NOPE'] }, 'c.json'));
    expect(issues[0]?.pointer).toBe('/provisionedClassifications/0');
  });

  it('rejects tiers out of order and a legacy level that does not round-trip', () => {
    const catalog = parseCatalog(catalogDoc, 'c.json');
    const tiers = prioritiesDoc.tiers.map((t) => ({ ...t }));
    [tiers[0], tiers[1]] = [tiers[1] as Record<string, unknown>, tiers[0] as Record<string, unknown>];
    const legacyLevels = prioritiesDoc.legacyLevels.map((l) => ({ ...l }));
    (legacyLevels[1] as Record<string, unknown>).tier = 'P50';
    const issues = configIssues(() => parsePriorities({ ...prioritiesDoc, tiers, legacyLevels }, 'p.json', catalog));
    expect(issues.map((i) => i.pointer)).toEqual(expect.arrayContaining(['/tiers/1/value', '/legacyLevels/1/tier']));
  });
});
