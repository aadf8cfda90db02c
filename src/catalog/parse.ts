import catalogSchema from '../../rules/schema/catalog.schema.json' with { type: 'json' };
import prioritiesSchema from '../../rules/schema/priorities.schema.json' with { type: 'json' };
import { ConfigError, pointerTo, schemaValidator, type ConfigIssue } from '../validation/index.js';
import type { Catalog, LegacyLevel, LegacyLevelDef, PriorityScale, Tier } from './model.js';

const validateCatalog = schemaValidator(catalogSchema);
const validatePriorities = schemaValidator(prioritiesSchema);

/** Validates a parsed rules/catalog.json document; throws {@link ConfigError} listing every issue. */
export function parseCatalog(doc: unknown, file: string): Catalog {
  const issues = validateCatalog(doc, file);
  if (issues.length > 0) throw new ConfigError(issues);
  const c = doc as Catalog;
  c.provisionedClassifications.forEach((name, i) => {
    if (!c.classifications.includes(name)) {
      issues.push({ file, pointer: pointerTo('/provisionedClassifications', i), message: `"${name}" is not a classification in this catalog` });
    }
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze({
    serviceTiers: Object.freeze([...c.serviceTiers]),
    requestTypes: Object.freeze([...c.requestTypes]),
    classifications: Object.freeze([...c.classifications]),
    qosLevels: Object.freeze([...c.qosLevels]),
    provisionedClassifications: Object.freeze([...c.provisionedClassifications]),
  });
}

interface PrioritiesDoc {
  tiers: { name: string; value: number; weight: number; defaultQos: number; legacyLevel: LegacyLevel; description?: string }[];
  legacyLevels: { level: LegacyLevel; name: string; tier: string }[];
  rawValues: { min: number; max: number; bands: { tier: string; from: number }[] };
}

/**
 * Validates a parsed rules/priorities.json against the catalog's QoS levels and compiles it
 * into a {@link PriorityScale}. Checks what a schema cannot: tiers strictly descending, one
 * definition per legacy level, a band per tier in ascending order containing the tier's own
 * value, and legacy round-trips (level → tier → level is the identity).
 */
export function parsePriorities(doc: unknown, file: string, catalog: Catalog): PriorityScale {
  const issues: ConfigIssue[] = validatePriorities(doc, file);
  if (issues.length > 0) throw new ConfigError(issues);
  const d = doc as PrioritiesDoc;

  const tiers: Tier[] = d.tiers.map((t, rank) => Object.freeze({ ...t, rank }));
  const byName = new Map<string, Tier>();
  tiers.forEach((t, i) => {
    const at = pointerTo('/tiers', i);
    if (byName.has(t.name)) issues.push({ file, pointer: pointerTo(at, 'name'), message: `tier "${t.name}" is defined twice` });
    byName.set(t.name, t);
    const prev = tiers[i - 1];
    if (prev !== undefined && prev.value <= t.value) {
      issues.push({ file, pointer: pointerTo(at, 'value'), message: `tiers must be listed highest first: ${t.name} (${t.value}) follows ${prev.name} (${prev.value})` });
    }
    if (!catalog.qosLevels.includes(t.defaultQos)) {
      issues.push({ file, pointer: pointerTo(at, 'defaultQos'), message: `QoS ${t.defaultQos} is not in the catalog (${catalog.qosLevels.join(', ')})` });
    }
    if (t.value > d.rawValues.max) {
      issues.push({ file, pointer: pointerTo(at, 'value'), message: `value ${t.value} is above rawValues.max ${d.rawValues.max}` });
    }
  });

  const legacyLevels: LegacyLevelDef[] = [];
  d.legacyLevels.forEach((l, i) => {
    const at = pointerTo('/legacyLevels', i);
    const tier = byName.get(l.tier);
    if (l.level !== i) issues.push({ file, pointer: pointerTo(at, 'level'), message: `legacy levels must be listed 0 to 3 in order; found ${l.level} at position ${i}` });
    if (tier === undefined) {
      issues.push({ file, pointer: pointerTo(at, 'tier'), message: `unknown tier "${l.tier}"` });
    } else {
      if (tier.legacyLevel !== l.level) {
        issues.push({ file, pointer: pointerTo(at, 'tier'), message: `legacy level ${l.level} reads as ${tier.name}, but ${tier.name} writes back as legacy level ${tier.legacyLevel}: the round trip would not be the identity` });
      }
      legacyLevels.push(Object.freeze({ level: l.level, name: l.name, tier }));
    }
  });

  const bands: { tier: Tier; from: number }[] = [];
  d.rawValues.bands.forEach((b, i) => {
    const at = pointerTo('/rawValues/bands', i);
    const tier = byName.get(b.tier);
    if (tier === undefined) {
      issues.push({ file, pointer: pointerTo(at, 'tier'), message: `unknown tier "${b.tier}"` });
      return;
    }
    const prev = bands[bands.length - 1];
    if (prev !== undefined && (prev.from >= b.from || prev.tier.value >= tier.value)) {
      issues.push({ file, pointer: at, message: 'bands must ascend both in "from" and in tier value' });
    }
    bands.push(Object.freeze({ tier, from: b.from }));
  });
  if (bands[0] !== undefined && bands[0].from !== 4) {
    issues.push({ file, pointer: '/rawValues/bands/0/from', message: 'the first band must start at 4 so that every raw value 4-150 has a tier' });
  }
  bands.forEach((b, i) => {
    const end = bands[i + 1]?.from ?? d.rawValues.max + 1;
    if (b.tier.value < b.from || b.tier.value >= end) {
      issues.push({ file, pointer: pointerTo('/rawValues/bands', i), message: `${b.tier.name}'s own value ${b.tier.value} lies outside its band ${b.from}-${end - 1}` });
    }
  });
  for (const t of tiers) {
    if (!bands.some((b) => b.tier === t)) issues.push({ file, pointer: '/rawValues/bands', message: `tier ${t.name} has no band` });
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const frozenTiers = Object.freeze(tiers);
  const frozenLegacy = Object.freeze(legacyLevels);
  return Object.freeze({
    tiers: frozenTiers,
    legacyLevels: frozenLegacy,
    rawMin: d.rawValues.min,
    rawMax: d.rawValues.max,
    bands: Object.freeze(bands),
    tier: (name: string) => byName.get(name),
    tierOfLegacy: (level: LegacyLevel) => (frozenLegacy[level] as LegacyLevelDef).tier,
  });
}
