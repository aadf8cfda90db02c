/**
 * Every statistic of a shadow replay, as one monoid: `emptyAggregate` is the identity and
 * `mergeAggregates` is associative and commutative, so one process, N consumer-group members or
 * N files give the same figures. Counters are mutable while a replay accumulates (the hot path
 * must not allocate); `mergeAggregates` builds a fresh value and never touches its inputs.
 * `aggregateToJson`/`aggregateFromJson` are lossless, which is how partial reports merge. Pure.
 */
import { emptyReservoir, mergeReservoirs, type Reservoir } from './reservoir.js';
import type { SourceDamage } from '../source.js';
import { schemaValidator } from '../../validation/index.js';

export const OUTCOME_KINDS = ['same', 'changed', 'baselineError', 'candidateError', 'bothError'] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];
export const OUTCOME = { same: 0, changed: 1, baselineError: 2, candidateError: 3, bothError: 4 } as const;

/** Counts per outcome kind, indexed by {@link OUTCOME}. */
export type OutcomeCounts = number[];

export interface SideOutcome {
  readonly ruleId: string;
  readonly tier: string;
  readonly legacyLevel: number | null;
  readonly qos: number;
  readonly preemptable: boolean;
}

export interface SideError {
  readonly error: string;
  readonly attribute: string | null;
  readonly value: string | null;
}

/** One sampled record that did not come out the same, as shown to the operator. */
export interface SampledRecord {
  readonly requestId: string;
  readonly timestamp: string | number;
  readonly accountId: string;
  readonly modelId: string;
  readonly region: string;
  readonly classification: string;
  readonly serviceTier: string | null;
  readonly requestType: string | null;
  readonly outcome: OutcomeKind;
  readonly baseline: SideOutcome | SideError;
  readonly candidate: SideOutcome | SideError;
}

const BREAKDOWNS = ['serviceTier', 'classification', 'requestType', 'account', 'model'] as const;
export type BreakdownName = (typeof BREAKDOWNS)[number];

export interface ShadowAggregate {
  /** Tier names highest first, then `error`: the labels of the confusion matrix. */
  readonly labels: readonly string[];
  read: number;
  quarantined: number;
  readonly quarantineReasons: Map<string, number>;
  readonly outcomes: OutcomeCounts;
  readonly changes: {
    priority: number;
    upgrades: number;
    downgrades: number;
    /** Tier changed but the legacy level stayed: a refinement the old system could not express. */
    withinLegacyLevel: number;
    qos: number;
    preemptable: number;
  };
  /** Row = baseline label index, column = candidate label index; flattened. */
  readonly confusion: number[];
  /** Downgrades counted under the baseline tier they left. */
  readonly downgradesByTier: Map<string, number>;
  /** Fail-closed errors by `side|code|attribute`. */
  readonly failClosed: Map<string, number>;
  readonly breakdowns: Record<BreakdownName, Map<string, OutcomeCounts>>;
  readonly tokens: {
    absent: number;
    /** Present but not verified (the replay ran without token keys). */
    unchecked: number;
    checked: number;
    valid: number;
    /** By the dual reader's reject reason. */
    readonly invalid: Map<string, number>;
    /** Legacy and dual reader disagree: by kind. */
    readonly mismatch: Map<string, number>;
  };
  readonly fidelity: {
    /** Records with an `observed` outcome. */
    checked: number;
    matched: number;
    priorityMismatch: number;
    qosMismatch: number;
    /** Production served the record but the baseline refuses it. */
    baselineError: number;
    /** `observed>baseline` label pairs of the mismatches. */
    readonly mismatches: Map<string, number>;
  };
  readonly sample: Reservoir<SampledRecord>;
  /** Input the sources know they lost (see {@link SourceDamage}), in {@link compareDamage} order once merged. */
  readonly damage: SourceDamage[];
}

export interface AggregateShape {
  readonly tiers: readonly string[];
  readonly sampleSize: number;
  readonly sampleSeed: number;
}

export function emptyAggregate(shape: AggregateShape): ShadowAggregate {
  const labels = [...shape.tiers, 'error'];
  return {
    labels,
    read: 0,
    quarantined: 0,
    quarantineReasons: new Map(),
    outcomes: [0, 0, 0, 0, 0],
    changes: { priority: 0, upgrades: 0, downgrades: 0, withinLegacyLevel: 0, qos: 0, preemptable: 0 },
    confusion: new Array<number>(labels.length * labels.length).fill(0),
    downgradesByTier: new Map(),
    failClosed: new Map(),
    breakdowns: { serviceTier: new Map(), classification: new Map(), requestType: new Map(), account: new Map(), model: new Map() },
    tokens: { absent: 0, unchecked: 0, checked: 0, valid: 0, invalid: new Map(), mismatch: new Map() },
    fidelity: { checked: 0, matched: 0, priorityMismatch: 0, qosMismatch: 0, baselineError: 0, mismatches: new Map() },
    sample: emptyReservoir<SampledRecord>(shape.sampleSize, shape.sampleSeed),
    damage: [],
  };
}

/** A total order on damage events, so merged aggregates list them the same whatever the merge order. */
function compareDamage(a: SourceDamage, b: SourceDamage): number {
  const ka = `${a.where}\u0000${a.kind}\u0000${a.detail}`;
  const kb = `${b.where}\u0000${b.kind}\u0000${b.detail}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export function compared(agg: ShadowAggregate): number {
  let n = 0;
  for (const c of agg.outcomes) n += c;
  return n;
}

export function increment(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Counts one outcome of kind `kind` under `key` of a breakdown. */
export function countIn(map: Map<string, OutcomeCounts>, key: string, kind: number): void {
  let counts = map.get(key);
  if (counts === undefined) {
    counts = [0, 0, 0, 0, 0];
    map.set(key, counts);
  }
  counts[kind] = (counts[kind] ?? 0) + 1;
}

function mergeCounters(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [k, v] of b) increment(out, k, v);
  return out;
}

function addCounts(a: readonly number[], b: readonly number[]): number[] {
  return a.map((v, i) => v + (b[i] ?? 0));
}

function mergeBreakdown(a: ReadonlyMap<string, OutcomeCounts>, b: ReadonlyMap<string, OutcomeCounts>): Map<string, OutcomeCounts> {
  const out = new Map<string, OutcomeCounts>();
  for (const [k, v] of a) out.set(k, [...v]);
  for (const [k, v] of b) out.set(k, addCounts(out.get(k) ?? [0, 0, 0, 0, 0], v));
  return out;
}

/** The aggregate of both inputs' records. Throws if they were built over different scales or sample settings. */
export function mergeAggregates(a: ShadowAggregate, b: ShadowAggregate): ShadowAggregate {
  if (a.labels.join(',') !== b.labels.join(',')) {
    throw new Error(`cannot merge aggregates over different tiers (${a.labels.join(',')} vs ${b.labels.join(',')})`);
  }
  const breakdowns = {} as Record<BreakdownName, Map<string, OutcomeCounts>>;
  for (const name of BREAKDOWNS) breakdowns[name] = mergeBreakdown(a.breakdowns[name], b.breakdowns[name]);
  return {
    labels: a.labels,
    read: a.read + b.read,
    quarantined: a.quarantined + b.quarantined,
    quarantineReasons: mergeCounters(a.quarantineReasons, b.quarantineReasons),
    outcomes: addCounts(a.outcomes, b.outcomes),
    changes: {
      priority: a.changes.priority + b.changes.priority,
      upgrades: a.changes.upgrades + b.changes.upgrades,
      downgrades: a.changes.downgrades + b.changes.downgrades,
      withinLegacyLevel: a.changes.withinLegacyLevel + b.changes.withinLegacyLevel,
      qos: a.changes.qos + b.changes.qos,
      preemptable: a.changes.preemptable + b.changes.preemptable,
    },
    confusion: addCounts(a.confusion, b.confusion),
    downgradesByTier: mergeCounters(a.downgradesByTier, b.downgradesByTier),
    failClosed: mergeCounters(a.failClosed, b.failClosed),
    breakdowns,
    tokens: {
      absent: a.tokens.absent + b.tokens.absent,
      unchecked: a.tokens.unchecked + b.tokens.unchecked,
      checked: a.tokens.checked + b.tokens.checked,
      valid: a.tokens.valid + b.tokens.valid,
      invalid: mergeCounters(a.tokens.invalid, b.tokens.invalid),
      mismatch: mergeCounters(a.tokens.mismatch, b.tokens.mismatch),
    },
    fidelity: {
      checked: a.fidelity.checked + b.fidelity.checked,
      matched: a.fidelity.matched + b.fidelity.matched,
      priorityMismatch: a.fidelity.priorityMismatch + b.fidelity.priorityMismatch,
      qosMismatch: a.fidelity.qosMismatch + b.fidelity.qosMismatch,
      baselineError: a.fidelity.baselineError + b.fidelity.baselineError,
      mismatches: mergeCounters(a.fidelity.mismatches, b.fidelity.mismatches),
    },
    sample: mergeReservoirs(a.sample, b.sample),
    damage: [...a.damage, ...b.damage].sort(compareDamage),
  };
}

// ---------------------------------------------------------------------------------------------
// Lossless JSON form (the `state` part of report.json). Keys are sorted so equal aggregates
// serialize to equal bytes whatever order their records arrived in.

/**
 * The JSON form of a value, derived from its type: a Map becomes an object keyed by the Map's
 * keys (sorted when written), arrays and nested objects keep their shape, primitives stay.
 */
export type JsonForm<T> =
  T extends ReadonlyMap<string, infer V>
    ? Readonly<Record<string, JsonForm<V>>>
    : T extends readonly (infer E)[]
      ? readonly JsonForm<E>[]
      : T extends object
        ? { readonly [K in keyof T]: JsonForm<T[K]> }
        : T;

/** Outcome counts by name, as written (the aggregate indexes them by {@link OUTCOME}). */
export type OutcomeCountsJson = Record<OutcomeKind, number>;

/**
 * The aggregate's JSON form: {@link JsonForm} of {@link ShadowAggregate}, except the four fields
 * whose in-memory layout is chosen for the hot path (outcome counts by index, a flattened
 * matrix, the reservoir) and are written in a form a person can read.
 */
export type AggregateJson = Omit<JsonForm<ShadowAggregate>, 'outcomes' | 'confusion' | 'breakdowns' | 'sample'> & {
  readonly outcomes: OutcomeCountsJson;
  /** One row per baseline label, one column per candidate label. */
  readonly confusion: readonly (readonly number[])[];
  readonly breakdowns: Record<BreakdownName, Record<string, OutcomeCountsJson>>;
  readonly sample: { readonly size: number; readonly seed: number; readonly records: readonly { readonly rank: number; readonly record: SampledRecord }[] };
};

const COUNT = { type: 'integer', minimum: 0 } as const;
const COUNTERS = { type: 'object', additionalProperties: COUNT } as const;
const OUTCOME_COUNTS = { type: 'object', required: [...OUTCOME_KINDS], properties: Object.fromEntries(OUTCOME_KINDS.map((k) => [k, COUNT])) } as const;
const COUNT_OR_NULL = { anyOf: [COUNT, { type: 'null' }] } as const;

/** JSON Schemas of the parts of {@link AggregateJson}; the report's schema reuses them where report.json holds them elsewhere. */
export const AGGREGATE_PART_SCHEMAS = {
  labels: { type: 'array', items: { type: 'string' }, minItems: 1 },
  count: COUNT,
  counters: COUNTERS,
  outcomes: OUTCOME_COUNTS,
  changes: {
    type: 'object',
    required: ['priority', 'upgrades', 'downgrades', 'withinLegacyLevel', 'qos', 'preemptable'],
    properties: { priority: COUNT, upgrades: COUNT, downgrades: COUNT, withinLegacyLevel: COUNT, qos: COUNT, preemptable: COUNT },
  },
  matrix: { type: 'array', items: { type: 'array', items: COUNT } },
  breakdowns: { type: 'object', required: [...BREAKDOWNS], properties: Object.fromEntries(BREAKDOWNS.map((b) => [b, { type: 'object', additionalProperties: OUTCOME_COUNTS }])) },
  tokens: {
    type: 'object',
    required: ['absent', 'unchecked', 'checked', 'valid', 'invalid', 'mismatch'],
    properties: { absent: COUNT, unchecked: COUNT, checked: COUNT, valid: COUNT, invalid: COUNTERS, mismatch: COUNTERS },
  },
  fidelity: {
    type: 'object',
    required: ['checked', 'matched', 'priorityMismatch', 'qosMismatch', 'baselineError', 'mismatches'],
    properties: { checked: COUNT, matched: COUNT, priorityMismatch: COUNT, qosMismatch: COUNT, baselineError: COUNT, mismatches: COUNTERS },
  },
  sample: {
    type: 'object',
    required: ['size', 'seed', 'records'],
    properties: {
      size: COUNT,
      seed: COUNT,
      records: { type: 'array', items: { type: 'object', required: ['rank', 'record'], properties: { rank: COUNT, record: { type: 'object' } } } },
    },
  },
  damage: {
    type: 'array',
    items: {
      type: 'object',
      required: ['kind', 'where', 'detail', 'recordsLost', 'bytesLost'],
      properties: {
        kind: { enum: ['truncated-gzip', 'offset-gap', 'corrupt-batch'] },
        where: { type: 'string' },
        detail: { type: 'string' },
        recordsLost: COUNT_OR_NULL,
        bytesLost: COUNT_OR_NULL,
      },
    },
  },
} as const;

const P = AGGREGATE_PART_SCHEMAS;
/** The JSON Schema of {@link AggregateJson} (the `state` of a checkpoint). `damage` may be absent: reports written before it was tracked. */
const AGGREGATE_JSON_SCHEMA = {
  type: 'object',
  required: ['labels', 'read', 'quarantined', 'quarantineReasons', 'outcomes', 'changes', 'confusion', 'downgradesByTier', 'failClosed', 'breakdowns', 'tokens', 'fidelity', 'sample'],
  properties: {
    labels: P.labels,
    read: P.count,
    quarantined: P.count,
    quarantineReasons: P.counters,
    outcomes: P.outcomes,
    changes: P.changes,
    confusion: P.matrix,
    downgradesByTier: P.counters,
    failClosed: P.counters,
    breakdowns: P.breakdowns,
    tokens: P.tokens,
    fidelity: P.fidelity,
    sample: P.sample,
    damage: P.damage,
  },
} as const;

function sortedObject<V>(map: ReadonlyMap<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const key of [...map.keys()].sort()) out[key] = map.get(key) as V;
  return out;
}

function countsObject(counts: readonly number[]): Record<OutcomeKind, number> {
  return {
    same: counts[0] ?? 0,
    changed: counts[1] ?? 0,
    baselineError: counts[2] ?? 0,
    candidateError: counts[3] ?? 0,
    bothError: counts[4] ?? 0,
  };
}

export function aggregateToJson(agg: ShadowAggregate): AggregateJson {
  const n = agg.labels.length;
  const breakdowns = {} as Record<BreakdownName, Record<string, Record<OutcomeKind, number>>>;
  for (const name of BREAKDOWNS) {
    const out: Record<string, Record<OutcomeKind, number>> = {};
    for (const key of [...agg.breakdowns[name].keys()].sort()) out[key] = countsObject(agg.breakdowns[name].get(key) ?? []);
    breakdowns[name] = out;
  }
  return {
    labels: [...agg.labels],
    read: agg.read,
    quarantined: agg.quarantined,
    quarantineReasons: sortedObject(agg.quarantineReasons),
    outcomes: countsObject(agg.outcomes),
    changes: { ...agg.changes },
    confusion: Array.from({ length: n }, (_, row) => agg.confusion.slice(row * n, row * n + n)),
    downgradesByTier: sortedObject(agg.downgradesByTier),
    failClosed: sortedObject(agg.failClosed),
    breakdowns,
    tokens: {
      absent: agg.tokens.absent,
      unchecked: agg.tokens.unchecked,
      checked: agg.tokens.checked,
      valid: agg.tokens.valid,
      invalid: sortedObject(agg.tokens.invalid),
      mismatch: sortedObject(agg.tokens.mismatch),
    },
    fidelity: {
      checked: agg.fidelity.checked,
      matched: agg.fidelity.matched,
      priorityMismatch: agg.fidelity.priorityMismatch,
      qosMismatch: agg.fidelity.qosMismatch,
      baselineError: agg.fidelity.baselineError,
      mismatches: sortedObject(agg.fidelity.mismatches),
    },
    sample: {
      size: agg.sample.capacity,
      seed: agg.sample.seed,
      records: agg.sample.items.map((item) => ({ rank: item.rank, record: item.value })),
    },
    damage: [...agg.damage].sort(compareDamage),
  };
}

/** Thrown when a partial report's state cannot be read back (another format, edited by hand). */
export class AggregateFormatError extends Error {
  override readonly name = 'AggregateFormatError';
  /** `where` names the document (or its part), `pointer` the value in it (RFC 6901), `problem` what is wrong. */
  constructor(
    readonly where: string,
    readonly pointer: string,
    readonly problem: string,
  ) {
    super(`${where}${pointer === '' ? '' : `#${pointer}`}: ${problem}`);
  }
}

const validateAggregate = schemaValidator(AGGREGATE_JSON_SCHEMA);

function counters(value: Readonly<Record<string, number>>, into: Map<string, number>): void {
  for (const [k, v] of Object.entries(value)) into.set(k, v);
}

const outcomeCounts = (value: OutcomeCountsJson): OutcomeCounts => OUTCOME_KINDS.map((k) => value[k]);

/**
 * Reads back what {@link aggregateToJson} wrote (the sample's canonical texts are recomputed),
 * checked against {@link AGGREGATE_JSON_SCHEMA}; the first problem is thrown as an
 * {@link AggregateFormatError} naming `where` and the JSON pointer.
 */
export function aggregateFromJson(json: unknown, where = 'state'): ShadowAggregate {
  const issue = validateAggregate(json, where)[0];
  if (issue !== undefined) throw new AggregateFormatError(issue.file, issue.pointer, issue.message);
  return aggregateFromValidJson(json as AggregateJson, where);
}

/** The aggregate of a document already checked against {@link AGGREGATE_JSON_SCHEMA}; checks only what a schema cannot say (shapes that depend on the labels). */
export function aggregateFromValidJson(o: AggregateJson, where: string): ShadowAggregate {
  const labels = o.labels;
  if (labels.at(-1) !== 'error') throw new AggregateFormatError(where, '/labels', 'must be the tier names followed by "error"');
  const agg = emptyAggregate({ tiers: labels.slice(0, -1), sampleSize: o.sample.size, sampleSeed: o.sample.seed });
  agg.read = o.read;
  agg.quarantined = o.quarantined;
  counters(o.quarantineReasons, agg.quarantineReasons);
  outcomeCounts(o.outcomes).forEach((v, i) => (agg.outcomes[i] = v));
  for (const key of Object.keys(agg.changes) as (keyof ShadowAggregate['changes'])[]) agg.changes[key] = o.changes[key];
  if (o.confusion.length !== labels.length) throw new AggregateFormatError(where, '/confusion', 'must have one row per label');
  o.confusion.forEach((row, r) => {
    if (row.length !== labels.length) throw new AggregateFormatError(where, `/confusion/${r}`, 'must have one column per label');
    row.forEach((v, c) => (agg.confusion[r * labels.length + c] = v));
  });
  counters(o.downgradesByTier, agg.downgradesByTier);
  counters(o.failClosed, agg.failClosed);
  for (const name of BREAKDOWNS) for (const [k, v] of Object.entries(o.breakdowns[name])) agg.breakdowns[name].set(k, outcomeCounts(v));
  // Field by field: a hand-edited document's extra keys must not ride along into the aggregate.
  const { tokens, fidelity } = o;
  Object.assign(agg.tokens, { absent: tokens.absent, unchecked: tokens.unchecked, checked: tokens.checked, valid: tokens.valid });
  counters(tokens.invalid, agg.tokens.invalid);
  counters(tokens.mismatch, agg.tokens.mismatch);
  const { checked, matched, priorityMismatch, qosMismatch, baselineError } = fidelity;
  Object.assign(agg.fidelity, { checked, matched, priorityMismatch, qosMismatch, baselineError });
  counters(fidelity.mismatches, agg.fidelity.mismatches);
  for (const { rank, record } of o.sample.records) agg.sample.items.push({ rank, text: JSON.stringify(record), value: record });
  if (agg.sample.items.length > agg.sample.capacity) throw new AggregateFormatError(where, '/sample', 'holds more records than its size');
  // Absent in reports written before damage was tracked: nothing known lost.
  for (const d of o.damage ?? []) agg.damage.push({ kind: d.kind, where: d.where, detail: d.detail, recordsLost: d.recordsLost, bytesLost: d.bytesLost });
  return agg;
}
