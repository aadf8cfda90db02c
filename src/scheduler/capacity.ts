/**
 * The capacity file: per-variant limits and per-account token buckets, validated against
 * capacity.schema.json (file + JSON pointer per problem) and turned into a core config. Pure:
 * the caller reads the file.
 */
import capacitySchema from './capacity.schema.json' with { type: 'json' };
import { ConfigError, pointerTo, schemaValidator, type ConfigIssue } from '../validation/index.js';
import type { AccountRate, SchedulerConfig, VariantLimits } from './core/index.js';

export interface VariantCapacity {
  readonly concurrency: number;
  readonly queueBound: number;
  readonly qosPreemption?: boolean;
  readonly reserved?: Readonly<Record<string, number>>;
}

export interface Capacity {
  readonly variants: Readonly<Record<string, VariantCapacity>>;
  readonly defaultVariant?: VariantCapacity;
  readonly accounts?: Readonly<Record<string, AccountRate>>;
  readonly defaultAccount?: AccountRate;
  readonly fairQueuingByAccount?: boolean;
}

const validateCapacity = schemaValidator(capacitySchema);

/** Validates a parsed capacity document. @throws ConfigError listing every issue with its pointer. */
export function parseCapacity(doc: unknown, file: string): Capacity {
  const issues: ConfigIssue[] = validateCapacity(doc, file);
  if (issues.length > 0) throw new ConfigError(issues);
  const capacity = doc as Capacity;
  const checkReserved = (v: VariantCapacity, at: string) => {
    const total = Object.values(v.reserved ?? {}).reduce((a, b) => a + b, 0);
    if (total > v.concurrency) {
      issues.push({ file, pointer: pointerTo(at, 'reserved'), message: `reserved units (${total}) exceed concurrency (${v.concurrency})` });
    }
  };
  for (const [modelId, v] of Object.entries(capacity.variants)) checkReserved(v, pointerTo('/variants', modelId));
  if (capacity.defaultVariant !== undefined) checkReserved(capacity.defaultVariant, '/defaultVariant');
  if (issues.length > 0) throw new ConfigError(issues);
  return capacity;
}

/**
 * The core config for `modelIds` (the variants a log or service will use, in that order) with
 * the given tier weights. A modelId without limits and no `defaultVariant` is left out;
 * the result's `variants` say which made it.
 */
export function schedulerConfigFor(capacity: Capacity, tierWeights: readonly number[], modelIds: Iterable<string>): SchedulerConfig {
  const variants: VariantLimits[] = [];
  const seen = new Set<string>();
  for (const id of modelIds) {
    if (seen.has(id)) continue;
    seen.add(id);
    const v = capacity.variants[id] ?? capacity.defaultVariant;
    if (v === undefined) continue;
    variants.push({ id, concurrency: v.concurrency, queueBound: v.queueBound, qosPreemption: v.qosPreemption ?? false, reserved: v.reserved ?? {} });
  }
  return {
    tierWeights,
    variants,
    accountRates: capacity.accounts ?? {},
    fairQueuingByAccount: capacity.fairQueuingByAccount ?? false,
    ...(capacity.defaultAccount === undefined ? {} : { defaultAccountRate: capacity.defaultAccount }),
  };
}
