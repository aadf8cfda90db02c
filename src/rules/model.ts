/** Types shared by the rule-set parser, the compiled evaluator, the reference interpreter, lint and diff. */
import type { LegacyLevel, Tier } from '../catalog/index.js';

/** What a request is. Catalog attributes must hold catalog values; `null`/absent means "missing". */
export interface RequestAttributes {
  readonly serviceTier?: string | null;
  readonly classification: string;
  readonly requestType?: string | null;
  readonly modelId?: string | null;
  readonly region?: string | null;
  readonly accountId?: string | null;
}

/** How a request is ranked. Precomputed and frozen per rule: evaluation hands out the shared reference. */
export interface Outcome {
  readonly ruleId: string;
  /** The outcome on the common P scale; legacy levels are mapped through `scale.tierOfLegacy`. */
  readonly tier: Tier;
  /** What a legacy rule set assigned; null for tier rule sets. */
  readonly legacyLevel: LegacyLevel | null;
  readonly qos: number;
  readonly preemptable: boolean;
}

/**
 * Which routing attribute the rules see. The attribute a mode ignores is treated as missing,
 * so a rule conditioned on it only matches through an explicit `null`.
 */
export type ServiceTierMode = 'service-tier' | 'request-type' | 'service-tier-with-fallback';
export const SERVICE_TIER_MODES: readonly ServiceTierMode[] = ['service-tier', 'request-type', 'service-tier-with-fallback'];

export type Scheme = 'legacy' | 'tier';

export type AttributeName = 'serviceTier' | 'classification' | 'requestType' | 'modelId' | 'region' | 'accountId';
export const ATTRIBUTES: readonly AttributeName[] = ['serviceTier', 'classification', 'requestType', 'modelId', 'region', 'accountId'];
/** Attributes whose values are open-ended strings rather than a catalog. */
export const FREE_ATTRIBUTES = ['modelId', 'region', 'accountId'] as const;
export type FreeAttribute = (typeof FREE_ATTRIBUTES)[number];

export type FailClosedCode = 'UNKNOWN_VALUE' | 'NO_MATCHING_RULE';

/**
 * The only error evaluation throws. An unknown attribute value (or a request no rule matches)
 * is never mapped to a default priority: it is rejected, named and counted.
 */
export class FailClosedError extends Error {
  override readonly name = 'FailClosedError';
  constructor(
    readonly code: FailClosedCode,
    message: string,
    readonly attribute?: string,
    readonly value?: unknown,
  ) {
    super(message);
  }
}

/**
 * One condition of a rule on one attribute. Absent condition = wildcard. `missing` says whether
 * a request lacking the attribute matches; `globs` only ever appear on modelId.
 */
export interface Condition {
  readonly values: ReadonlySet<string>;
  readonly missing: boolean;
  readonly globs: readonly Glob[];
}

export interface Glob {
  readonly pattern: string;
  readonly test: (value: string) => boolean;
}

export type Conditions = { readonly [A in AttributeName]?: Condition };

/** A rule (or account override) after validation: conditions resolved against the catalog. */
export interface RuleDef {
  readonly id: string;
  /** JSON pointer to the rule in its file, for findings. */
  readonly pointer: string;
  /** Position in the file's evaluation order before sorting (overrides first, then rules). */
  readonly fileOrder: number;
  /** Rules: their `precedence`; account overrides: +Infinity (they win over every rule). */
  readonly precedence: number;
  readonly isOverride: boolean;
  readonly when: Conditions;
  readonly outcome: Outcome;
  readonly description?: string;
}

/** A validated rule set, its rules sorted into evaluation order (precedence desc, then file order). */
export interface RuleSetModel {
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly scheme: Scheme;
  /** The mode the file declares. */
  readonly declaredMode: ServiceTierMode;
  readonly rules: readonly RuleDef[];
}
