/**
 * The deployment strategies shipped in rules/deployment-strategies.json. AppConfig strategies
 * are shared by every application in an account and a deployment records only the strategy's
 * id, so one is never changed in place: each is created as `<prefix>-<name>-v<version>` and a
 * change raises the version, which makes a new strategy. Pure: the caller reads the file.
 */
import strategiesSchema from '../../../rules/schema/deployment-strategies.schema.json' with { type: 'json' };
import { ConfigError, schemaValidator } from '../../validation/index.js';

export type GrowthType = 'LINEAR' | 'EXPONENTIAL';

/** One strategy as AppConfig holds it, under its full name. */
export interface StrategySpec {
  /** The short name `deploy --strategy` takes (e.g. `linear`). */
  readonly shortName: string;
  /** The name in AppConfig (e.g. `prio-linear-v1`). */
  readonly name: string;
  readonly description: string;
  readonly deploymentDurationInMinutes: number;
  readonly growthType: GrowthType;
  readonly growthFactor: number;
  readonly finalBakeTimeInMinutes: number;
}

interface StrategiesFile {
  readonly prefix: string;
  readonly strategies: readonly {
    readonly name: string;
    readonly version: number;
    readonly description?: string;
    readonly deploymentDurationInMinutes: number;
    readonly growthType: GrowthType;
    readonly growthFactor: number;
    readonly finalBakeTimeInMinutes: number;
  }[];
}

const validate = schemaValidator(strategiesSchema);

/** The strategy AppConfig rollbacks use: every host at once. */
export const ALL_AT_ONCE = 'all-at-once';

/** Validates the strategies document and names each strategy. @throws ConfigError */
export function parseStrategies(doc: unknown, file: string): readonly StrategySpec[] {
  const issues = validate(doc, file);
  if (issues.length > 0) throw new ConfigError(issues);
  const parsed = doc as StrategiesFile;
  const seen = new Set<string>();
  return parsed.strategies.map((s, i) => {
    if (seen.has(s.name)) throw new ConfigError([{ file, pointer: `/strategies/${i}/name`, message: `strategy "${s.name}" is listed twice` }]);
    seen.add(s.name);
    return {
      shortName: s.name,
      name: `${parsed.prefix}-${s.name}-v${s.version}`,
      description: s.description ?? '',
      deploymentDurationInMinutes: s.deploymentDurationInMinutes,
      growthType: s.growthType,
      growthFactor: s.growthFactor,
      finalBakeTimeInMinutes: s.finalBakeTimeInMinutes,
    };
  });
}

/** The parameters that make a strategy what it is (its description aside). */
export interface StrategyParameters {
  readonly deploymentDurationInMinutes?: number | undefined;
  readonly growthType?: string | undefined;
  readonly growthFactor?: number | undefined;
  readonly finalBakeTimeInMinutes?: number | undefined;
}

/** The parameters of `existing` that differ from `spec`, worded; empty when they match. */
export function strategyDifferences(spec: StrategySpec, existing: StrategyParameters): string[] {
  const keys = ['deploymentDurationInMinutes', 'growthType', 'growthFactor', 'finalBakeTimeInMinutes'] as const;
  return keys.filter((k) => existing[k] !== spec[k]).map((k) => `${k} is ${String(existing[k])}, the file says ${String(spec[k])}`);
}

/** The strategy `--strategy` names: a short name from the file, or a full AppConfig name or id as given. */
export function strategyNameFor(given: string, specs: readonly StrategySpec[]): string {
  return specs.find((s) => s.shortName === given)?.name ?? given;
}
