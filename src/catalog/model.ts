/** The domain's vocabulary and priority scale, as typed values compiled from configuration. */

export type QosLevel = number;
/** Legacy priority level: 0 (highest) to 3. */
export type LegacyLevel = 0 | 1 | 2 | 3;
export const LEGACY_LEVELS: readonly LegacyLevel[] = [0, 1, 2, 3];

/** The closed sets every request attribute is checked against. */
export interface Catalog {
  readonly serviceTiers: readonly string[];
  readonly requestTypes: readonly string[];
  readonly classifications: readonly string[];
  readonly qosLevels: readonly QosLevel[];
  /** Classifications the legacy system derived PROVISIONED from (all others were ON_DEMAND). */
  readonly provisionedClassifications: readonly string[];
}

export interface Tier {
  readonly name: string;
  /** Position on the P scale (4-150); higher runs first. */
  readonly value: number;
  /** 0 for the highest tier, counting down the scale. */
  readonly rank: number;
  readonly weight: number;
  readonly defaultQos: QosLevel;
  readonly legacyLevel: LegacyLevel;
  readonly description?: string;
}

export interface LegacyLevelDef {
  readonly level: LegacyLevel;
  readonly name: string;
  /** The tier a new build reads this level as. */
  readonly tier: Tier;
}

export interface PriorityScale {
  /** Highest first; `tiers[t.rank] === t`. */
  readonly tiers: readonly Tier[];
  readonly legacyLevels: readonly LegacyLevelDef[];
  readonly rawMin: number;
  readonly rawMax: number;
  /** Ascending band starts: raw value v (>= 4) belongs to the last band whose `from` <= v. */
  readonly bands: readonly { readonly tier: Tier; readonly from: number }[];
  tier(name: string): Tier | undefined;
  /** The tier a new build reads legacy level `level` as. */
  tierOfLegacy(level: LegacyLevel): Tier;
}

/** Everything the rules engine, tokens and reports need to know about the domain. */
export interface Domain {
  readonly catalog: Catalog;
  readonly scale: PriorityScale;
}
