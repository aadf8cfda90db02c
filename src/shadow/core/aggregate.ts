/**
 * Every statistic of a shadow replay, as one monoid: `emptyAggregate` is the identity and
 * `mergeAggregates` is associative and commutative, so one process, N consumer-group members or
 * N files give the same figures. Counters are mutable while a replay accumulates (the hot path
 * must not allocate); `mergeAggregates` builds a fresh value and never touches its inputs.
 * `aggregateToJson`/`aggregateFromJson` are lossless, which is how partial reports merge. Pure.
 */
import { emptyReservoir, mergeReservoirs, type Reservoir } from './reservoir.js';
import type { SourceDamage } from '../source.js';

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

export interface AggregateJson {
  readonly labels: readonly string[];
  readonly read: number;
  readonly quarantined: number;
  readonly quarantineReasons: Record<string, number>;
  readonly outcomes: Record<OutcomeKind, number>;
  readonly changes: ShadowAggregate['changes'];
  readonly confusion: readonly (readonly number[])[];
  readonly downgradesByTier: Record<string, number>;
  readonly failClosed: Record<string, number>;
  readonly breakdowns: Record<BreakdownName, Record<string, Record<OutcomeKind, number>>>;
  readonly tokens: { absent: number; unchecked: number; checked: number; valid: number; invalid: Record<string, number>; mismatch: Record<string, number> };
  readonly fidelity: {
    checked: number;
    matched: number;
    priorityMismatch: number;
    qosMismatch: number;
    baselineError: number;
    mismatches: Record<string, number>;
  };
  readonly sample: { readonly size: number; readonly seed: number; readonly records: readonly { rank: number; record: SampledRecord }[] };
  readonly damage: readonly SourceDamage[];
}

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
}

function num(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new AggregateFormatError(`${where} must be a non-negative integer`);
  return value;
}

function obj(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AggregateFormatError(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function counters(value: unknown, where: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const [k, v] of Object.entries(obj(value, where))) map.set(k, num(v, `${where}.${k}`));
  return map;
}

function outcomeCounts(value: unknown, where: string): OutcomeCounts {
  const o = obj(value, where);
  return OUTCOME_KINDS.map((k) => num(o[k], `${where}.${k}`));
}

/** Reads back what {@link aggregateToJson} wrote (the sample's canonical texts are recomputed). */
export function aggregateFromJson(json: unknown, where = 'state'): ShadowAggregate {
  const o = obj(json, where);
  if (!Array.isArray(o.labels) || !o.labels.every((l) => typeof l === 'string') || o.labels.at(-1) !== 'error') {
    throw new AggregateFormatError(`${where}.labels must be the tier names followed by "error"`);
  }
  const labels = o.labels as string[];
  const sampleJson = obj(o.sample, `${where}.sample`);
  const agg = emptyAggregate({
    tiers: labels.slice(0, -1),
    sampleSize: num(sampleJson.size, `${where}.sample.size`),
    sampleSeed: num(sampleJson.seed, `${where}.sample.seed`),
  });
  agg.read = num(o.read, `${where}.read`);
  agg.quarantined = num(o.quarantined, `${where}.quarantined`);
  for (const [k, v] of counters(o.quarantineReasons, `${where}.quarantineReasons`)) agg.quarantineReasons.set(k, v);
  outcomeCounts(o.outcomes, `${where}.outcomes`).forEach((v, i) => (agg.outcomes[i] = v));
  const changes = obj(o.changes, `${where}.changes`);
  for (const key of Object.keys(agg.changes) as (keyof ShadowAggregate['changes'])[]) agg.changes[key] = num(changes[key], `${where}.changes.${key}`);
  const rows = o.confusion;
  if (!Array.isArray(rows) || rows.length !== labels.length) throw new AggregateFormatError(`${where}.confusion must have one row per label`);
  rows.forEach((row: unknown, r) => {
    if (!Array.isArray(row) || row.length !== labels.length) throw new AggregateFormatError(`${where}.confusion[${r}] must have one column per label`);
    row.forEach((v: unknown, c) => (agg.confusion[r * labels.length + c] = num(v, `${where}.confusion[${r}][${c}]`)));
  });
  for (const [k, v] of counters(o.downgradesByTier, `${where}.downgradesByTier`)) agg.downgradesByTier.set(k, v);
  for (const [k, v] of counters(o.failClosed, `${where}.failClosed`)) agg.failClosed.set(k, v);
  const breakdowns = obj(o.breakdowns, `${where}.breakdowns`);
  for (const name of BREAKDOWNS) {
    for (const [k, v] of Object.entries(obj(breakdowns[name], `${where}.breakdowns.${name}`))) {
      agg.breakdowns[name].set(k, outcomeCounts(v, `${where}.breakdowns.${name}.${k}`));
    }
  }
  const tokens = obj(o.tokens, `${where}.tokens`);
  agg.tokens.absent = num(tokens.absent, `${where}.tokens.absent`);
  agg.tokens.unchecked = num(tokens.unchecked, `${where}.tokens.unchecked`);
  agg.tokens.checked = num(tokens.checked, `${where}.tokens.checked`);
  agg.tokens.valid = num(tokens.valid, `${where}.tokens.valid`);
  for (const [k, v] of counters(tokens.invalid, `${where}.tokens.invalid`)) agg.tokens.invalid.set(k, v);
  for (const [k, v] of counters(tokens.mismatch, `${where}.tokens.mismatch`)) agg.tokens.mismatch.set(k, v);
  const fidelity = obj(o.fidelity, `${where}.fidelity`);
  agg.fidelity.checked = num(fidelity.checked, `${where}.fidelity.checked`);
  agg.fidelity.matched = num(fidelity.matched, `${where}.fidelity.matched`);
  agg.fidelity.priorityMismatch = num(fidelity.priorityMismatch, `${where}.fidelity.priorityMismatch`);
  agg.fidelity.qosMismatch = num(fidelity.qosMismatch, `${where}.fidelity.qosMismatch`);
  agg.fidelity.baselineError = num(fidelity.baselineError, `${where}.fidelity.baselineError`);
  for (const [k, v] of counters(fidelity.mismatches, `${where}.fidelity.mismatches`)) agg.fidelity.mismatches.set(k, v);
  const records = sampleJson.records;
  if (!Array.isArray(records)) throw new AggregateFormatError(`${where}.sample.records must be an array`);
  for (const [i, entry] of records.entries()) {
    const e = obj(entry, `${where}.sample.records[${i}]`);
    const record = obj(e.record, `${where}.sample.records[${i}].record`) as unknown as SampledRecord;
    agg.sample.items.push({ rank: num(e.rank, `${where}.sample.records[${i}].rank`), text: JSON.stringify(record), value: record });
  }
  if (agg.sample.items.length > agg.sample.capacity) throw new AggregateFormatError(`${where}.sample holds more records than its size`);
  // Absent in reports written before damage was tracked: nothing known lost.
  if (o.damage !== undefined) {
    if (!Array.isArray(o.damage)) throw new AggregateFormatError(`${where}.damage must be an array`);
    for (const [i, entry] of o.damage.entries()) agg.damage.push(damageFromJson(entry, `${where}.damage[${i}]`));
  }
  return agg;
}

function damageFromJson(value: unknown, where: string): SourceDamage {
  const d = obj(value, where);
  if (d.kind !== 'truncated-gzip' && d.kind !== 'offset-gap' && d.kind !== 'corrupt-batch') throw new AggregateFormatError(`${where}.kind must be "truncated-gzip", "offset-gap" or "corrupt-batch"`);
  if (typeof d.where !== 'string' || typeof d.detail !== 'string') throw new AggregateFormatError(`${where}.where and .detail must be strings`);
  const orNull = (v: unknown, field: string): number | null => (v === null ? null : num(v, `${where}.${field}`));
  return { kind: d.kind, where: d.where, detail: d.detail, recordsLost: orNull(d.recordsLost, 'recordsLost'), bytesLost: orNull(d.bytesLost, 'bytesLost') };
}
